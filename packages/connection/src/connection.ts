/**
 * `tandem connect --foreground`: a {@link GatewayLogin} opened into a {@link Tunnel}, kept alive
 * with the same reconnect policy the agent's engine uses (common's backoff, jittered, within a
 * budget): cookie reconnects that keep the TUN, routes and DNS, a fresh certificate
 * authentication when the gateway refuses the cookie, and an end when the gateway ends the
 * session, the address changes, the TUN fails or the budget is spent.
 */
import { authenticate, type TunnelConfig } from '@tandem/anyconnect';
import {
  backoffDelay,
  DEFAULT_RECONNECT_POLICY,
  ErrorCodes,
  isTandemError,
  nullLogger,
  type Logger,
  type ReconnectPolicy,
} from '@tandem/common';
import { GatewayLogin, type LoginOptions } from './login.js';
import { RECONNECT_DEADLINE_MS, type Tunnel, type TunnelStats } from './tunnel.js';

/** How to run a foreground connection. */
export interface ConnectionOptions extends Omit<LoginOptions, 'snapshotDuringAuth' | 'signal'> {
  /** Overrides of the reconnect policy (tests shorten the budget). */
  reconnect?: Partial<ReconnectPolicy>;
}

/** A foreground connection with its own reconnect loop. */
export class Connection {
  private ended = false;
  private reconnecting = false;
  private endedCb: (why: string) => void = () => {};
  /** Ends the current backoff wait early (a network change). */
  private wake: (() => void) | null = null;
  private readonly log: Logger;
  private readonly policy: ReconnectPolicy;

  private constructor(
    private readonly opts: ConnectionOptions,
    private readonly tunnel: Tunnel,
    private cookie: string,
  ) {
    this.log = opts.log ?? nullLogger;
    this.policy = { ...DEFAULT_RECONNECT_POLICY, ...opts.reconnect };
    tunnel.onDead((_reason, how) => void this.reconnect(how?.retryNow === true));
    tunnel.onEnded(({ reason }) => void this.finish(reason));
  }

  /** Brings the tunnel up; on any failure everything applied so far is reverted. */
  static async establish(opts: ConnectionOptions): Promise<Connection> {
    // Nothing else touches the host's network in this process: snapshot while authenticating.
    const login = await GatewayLogin.authenticate({ ...opts, snapshotDuringAuth: true });
    return new Connection(opts, await login.open(), login.cookie);
  }

  /** The gateway's configuration of the current session (never contains the cookie). */
  get tunnelConfig(): TunnelConfig {
    return this.tunnel.tunnelConfig;
  }

  /** Interface name of the TUN. */
  get interfaceName(): string {
    return this.tunnel.interfaceName;
  }

  /** Counters across reconnects. */
  stats(): TunnelStats {
    return this.tunnel.stats();
  }

  /** Called once when the connection ends by itself (gateway ended it, reconnect gave up, TUN failed). */
  onEnded(cb: (why: string) => void): void {
    this.endedCb = cb;
  }

  /**
   * The host's network changed (NetworkWatch): the tunnel checks its path — a gone path is given
   * up and reconnected at once — and a reconnect waiting out its backoff tries now.
   */
  networkChanged(): void {
    if (this.ended) return;
    this.wake?.();
    void this.tunnel.networkChanged();
  }

  /** Tears down: optional logout, then routes and DNS reverted, TUN closed. */
  close(options: { logout: boolean; reason?: string } = { logout: true }): Promise<void> {
    this.ended = true;
    this.wake?.();
    return this.tunnel.close(options);
  }

  private async finish(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.tunnel.close({ logout: false, reason });
    this.endedCb(reason);
  }

  private async reconnect(now = false): Promise<void> {
    if (this.reconnecting || this.ended) return;
    this.reconnecting = true;
    const started = performance.now();
    for (let attempt = 0; !this.ended; attempt++) {
      const left = this.policy.budgetMs - (performance.now() - started);
      const backoff = now && attempt === 0 ? 0 : backoffDelay(attempt, this.policy, Math.random);
      const delayMs = Math.max(0, Math.min(left, backoff));
      this.opts.onEvent?.({ event: 'reconnecting', attempt: attempt + 1, delayMs });
      await new Promise<void>((r) => {
        const timer = setTimeout(r, delayMs);
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = null;
      if (this.ended) break;
      try {
        try {
          await this.tunnel.reconnect({ cookie: this.cookie });
        } catch (err) {
          if (!isTandemError(err, ErrorCodes.COOKIE_REJECTED)) throw err;
          // The gateway forgot the session (restart, timeout): certificate auth needs no user.
          this.cookie = (await authenticate({ ...this.opts.auth, requestTimeoutMs: RECONNECT_DEADLINE_MS })).cookie;
          await this.tunnel.reconnect({ cookie: this.cookie });
        }
        this.reconnecting = false;
        return;
      } catch (err) {
        this.log.warn('reconnect attempt failed', { attempt: attempt + 1, error: (err as Error).message });
        if (isTandemError(err, ErrorCodes.NETCONFIG) || performance.now() - started >= this.policy.budgetMs) {
          this.reconnecting = false;
          await this.finish(`reconnect gave up: ${(err as Error).message}`);
          return;
        }
      }
    }
    this.reconnecting = false;
  }
}
