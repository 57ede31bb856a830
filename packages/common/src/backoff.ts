/**
 * Exponential backoff with jitter: the one reconnect policy, used by the engine (session
 * reconnects, machine-tunnel restarts) and by `@tandem/connection` (`tandem connect --foreground`).
 */

/** Shape of an exponential backoff: first delay, growth factor and cap. */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** Fraction of each delay that is randomised away (0 = none, 0.2 = up to 20 % shorter). */
  jitter: number;
}

/** The reconnect policy of a session: backoff plus the total time budget. */
export interface ReconnectPolicy extends BackoffPolicy {
  /** Give up reconnecting this long after the transport died (openconnect's reconnect-timeout). */
  budgetMs: number;
}

/** 1 s, ×2, capped at 30 s, 20 % jitter, 300 s in total. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  initialMs: 1_000,
  factor: 2,
  maxMs: 30_000,
  jitter: 0.2,
  budgetMs: 300_000,
};

/** How long a machine tunnel that ended on its own waits before the supervisor restarts it. */
export const DEFAULT_MACHINE_RESTART_POLICY: BackoffPolicy = {
  initialMs: 2_000,
  factor: 2,
  maxMs: 60_000,
  jitter: 0.2,
};

/**
 * Delay before attempt `attempt` (0-based). Jitter only shortens the delay, so the cap is a
 * true upper bound, while still spreading many clients that lost the same gateway at once.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - policy.jitter * r));
}
