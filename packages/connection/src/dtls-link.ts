/**
 * The life of the DTLS channel beside a CSTP session, after openconnect (docs/protocol.md#dtls):
 * start the handshake once CONNECT has answered, move the data path onto DTLS when it is up,
 * back onto CSTP the moment it dies (DPD silence, a socket error, the gateway closing it), and
 * try again while CSTP carries the traffic. A new CSTP session (cookie reconnect, rekey) brings a
 * new key and App-ID, so the channel starts over with it.
 *
 * The retry period is shorter than openconnect's 60 s: an attempt costs one handshake, and a
 * laptop whose UDP comes back (a captive portal passed, a firewall rule lifted) should not run
 * TCP-in-TCP for a minute longer than it has to.
 */
import { DtlsSession, zeroDtlsStats, type CstpChannel, type DtlsStats } from '@tandem/anyconnect';
import { TandemError, type Logger } from '@tandem/common';
import type { DataPath } from './datapath.js';
import type { EventSink } from './events.js';

/** Wait between a failed or lost DTLS channel and the next attempt. */
export const DTLS_RETRY_MS = 10_000;

/** Where the channel is: `off` when the gateway offered none or it is disabled. */
export type DtlsState = 'off' | 'connecting' | 'up' | 'waiting';

/** What the link needs from the tunnel. */
export interface DtlsLinkDeps {
  datapath: DataPath;
  gatewayIp: string;
  log: Logger;
  emit: EventSink;
  /** For tests: the wait before a new attempt. */
  retryMs?: number;
}

/** Keeps a DTLS channel up beside the current CSTP session when the gateway offers one. */
export class DtlsLink {
  private channel: CstpChannel | null = null;
  private session: DtlsSession | null = null;
  private abort: AbortController | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** Bumped by every start/stop so a late handshake result for an old channel is discarded. */
  private generation = 0;
  private stateNow: DtlsState = 'off';
  private lastError: string | null = null;
  private readonly past: DtlsStats = zeroDtlsStats();

  constructor(private readonly deps: DtlsLinkDeps) {}

  /** Starts over for `channel` (a new CSTP session); the previous DTLS channel is closed. */
  start(channel: CstpChannel): void {
    this.stop();
    this.channel = channel;
    if (!channel.config.dtls) {
      this.deps.log.info('no DTLS: data runs over CSTP', { reason: channel.config.dtlsNote ?? 'not offered' });
      return;
    }
    this.attempt(this.generation);
  }

  /** Closes the channel and stops trying (tunnel closing, CSTP lost). */
  stop(): void {
    this.generation++;
    this.abort?.abort();
    this.abort = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.drop();
    this.channel = null;
    this.stateNow = 'off';
  }

  /** The channel's state now. */
  get state(): DtlsState {
    return this.stateNow;
  }

  /** The session carrying data, when up. */
  get current(): DtlsSession | null {
    return this.session;
  }

  /** Why the last attempt failed or the last channel died (null if none did). */
  get lastFailure(): string | null {
    return this.lastError;
  }

  /** The state in words for statistics; `offerNote` is why the gateway offered none, if so. */
  describe(offerNote: string | null): string {
    switch (this.stateNow) {
      case 'up':
        return 'up';
      case 'connecting':
        return 'connecting';
      case 'waiting':
        return `waiting to retry: ${this.lastError ?? 'unknown failure'}`;
      default:
        return `off: ${offerNote ?? (this.channel ? 'not started' : 'disabled (--no-dtls)')}`;
    }
  }

  /** Counters of every DTLS channel of this tunnel, the current one included. */
  totals(): DtlsStats {
    const now = this.session?.stats ?? zeroDtlsStats();
    const sum = { ...this.past };
    for (const k of Object.keys(sum) as Array<keyof DtlsStats>) sum[k] += now[k];
    return sum;
  }

  private attempt(generation: number): void {
    const channel = this.channel;
    if (!channel || generation !== this.generation) return;
    this.stateNow = 'connecting';
    const abort = new AbortController();
    this.abort = abort;
    const t0 = performance.now();
    DtlsSession.open({ channel, gatewayIp: this.deps.gatewayIp, signal: abort.signal, log: this.deps.log }).then(
      (session) => {
        if (generation !== this.generation) {
          session.close();
          return;
        }
        this.session = session;
        this.stateNow = 'up';
        this.lastError = null;
        session.once('dead', (reason: string) => this.lost(session, generation, reason));
        session.once('rekey', () => this.rekey(session, generation));
        this.deps.datapath.useDtls(session);
        const ms = Math.round(performance.now() - t0);
        this.deps.log.info('DTLS up', { ...session.transport, ms, dataMtu: session.dataMtu });
        this.deps.emit({ event: 'dtls-up', ms, ...session.transport });
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        const reason = err instanceof TandemError ? err.message : String(err);
        this.lastError = reason;
        this.deps.log.warn('DTLS handshake failed; data stays on CSTP', { code: 'E_DTLS', reason });
        this.deps.emit({ event: 'dtls-down', reason });
        this.later(generation);
      },
    );
  }

  private lost(session: DtlsSession, generation: number, reason: string): void {
    if (generation !== this.generation || session !== this.session) return;
    this.lastError = reason;
    this.drop();
    this.deps.log.warn('DTLS lost; data falls back to CSTP', { code: 'E_DTLS', reason });
    this.deps.emit({ event: 'dtls-down', reason });
    this.later(generation);
  }

  /** X-DTLS-Rekey-Time passed: a fresh handshake (new keys), CSTP carrying data meanwhile. */
  private rekey(session: DtlsSession, generation: number): void {
    if (generation !== this.generation || session !== this.session) return;
    this.deps.log.info('DTLS rekey: new handshake');
    this.drop();
    this.attempt(generation);
  }

  private drop(): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.deps.datapath.useDtls(null);
    for (const k of Object.keys(this.past) as Array<keyof DtlsStats>) this.past[k] += s.stats[k];
    s.close();
  }

  private later(generation: number): void {
    this.stateNow = 'waiting';
    this.retry = setTimeout(() => {
      this.retry = null;
      this.attempt(generation);
    }, this.deps.retryMs ?? DTLS_RETRY_MS);
    this.retry.unref();
  }
}
