/**
 * Exponential backoff with jitter: the one reconnect policy, used by the engine (session
 * reconnects, machine-tunnel restarts) and by `@tandem/connection` (`tandem connect --foreground`).
 *
 * The defaults use full jitter (AWS's "Exponential Backoff And Jitter"): each wait is uniform
 * between 0 and the exponential step, the first one included. When a gateway restarts, all its
 * clients lose their tunnel in the same instant; with only a little jitter their attempts stay
 * in waves one step apart and arrive together when it is back, while full jitter spreads them
 * over the whole step (issue 17: packages/engine/test/fleet/). A lone client still tries again
 * half a second after a blip on average.
 */

/** Shape of an exponential backoff: first delay, growth factor and cap. */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /**
   * Fraction of each delay that is randomised away: 0 = none, 0.2 = up to 20 % shorter, 1 = full
   * jitter (uniform between 0 and the delay).
   */
  jitter: number;
}

/** The reconnect policy of a session: backoff plus the total time budget. */
export interface ReconnectPolicy extends BackoffPolicy {
  /** Give up reconnecting this long after the transport died (openconnect's reconnect-timeout). */
  budgetMs: number;
}

/** Steps of 1 s, ×2, capped at 30 s, each wait uniform in (0, step] (full jitter), 300 s in total. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  initialMs: 1_000,
  factor: 2,
  maxMs: 30_000,
  jitter: 1,
  budgetMs: 300_000,
};

/**
 * How long a machine tunnel that ended on its own waits before the supervisor restarts it: steps
 * of 2 s, ×2, capped at 60 s, full jitter (a fleet's machine tunnels may all end together).
 */
export const DEFAULT_MACHINE_RESTART_POLICY: BackoffPolicy = {
  initialMs: 2_000,
  factor: 2,
  maxMs: 60_000,
  jitter: 1,
};

/**
 * Delay before attempt `attempt` (0-based): the step `min(maxMs, initialMs × factor^attempt)`
 * shortened by `jitter × random()` of itself. Jitter only shortens, so the cap is a true upper
 * bound; with `jitter: 1` the delay is uniform over (0, step] for a uniform `random`.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - policy.jitter * r));
}
