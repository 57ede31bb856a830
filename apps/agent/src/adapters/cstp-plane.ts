/**
 * The engine's DataPlane over a real tunnel: a CSTP session (@tandem/anyconnect), the TUN and
 * the journaled vpnc-script network session (@tandem/tunnel), joined by the packet pump of
 * @tandem/connection. Reconnects are driven by the engine (`onDead` → `reconnect` with the
 * cookie, re-authentication on E_COOKIE_REJECTED), so TUN, routes and DNS stay in place while
 * the transport is re-established and no traffic leaks meanwhile.
 */
import { addressFor, reconnectCstp, CstpSession, type AuthOptions, type AuthResult, type CstpClosed, type TunnelConfig } from '@tandem/anyconnect';
import { ErrorCodes, TandemError, type Logger } from '@tandem/common';
import { DataPath } from '@tandem/connection';
import type { DataPlane, OpenContext, SessionCredentials, TrafficCounters } from '@tandem/engine';
import type { NetworkSession, TunDevice } from '@tandem/tunnel';

/** Deadline of one reconnect attempt, so a black-holed gateway cannot stall the engine's backoff. */
const RECONNECT_DEADLINE_MS = 5000;

/** What a plane needs from the bring-up. */
export interface PlaneParts {
  auth: Pick<AuthResult, 'gateway'>;
  options: AuthOptions;
  session: CstpSession;
  config: TunnelConfig;
  network: NetworkSession;
  tun: TunDevice;
  log: Logger;
}

/** A running tunnel as the engine sees it. */
export class CstpPlane implements DataPlane {
  private readonly dead = new Set<(reason: string) => void>();
  private readonly ended = new Set<(reason: string) => void>();
  private readonly datapath: DataPath;
  private session: CstpSession;
  private config: TunnelConfig;
  private closing: Promise<void> | null = null;
  private counters: TrafficCounters = { bytesIn: 0, bytesOut: 0 };

  constructor(private readonly parts: PlaneParts) {
    this.session = parts.session;
    this.config = parts.config;
    this.datapath = new DataPath(parts.tun);
    this.datapath.attach(this.session);
    this.watch(this.session);
  }

  /** See {@link DataPlane.addresses}. */
  get addresses(): readonly string[] {
    return [this.config.ipv4?.address, this.config.ipv6?.address].filter((a) => typeof a === 'string');
  }

  /** See {@link DataPlane.stats}: totals across reconnects. */
  stats(): TrafficCounters {
    const s = this.session.stats;
    return { bytesIn: this.counters.bytesIn + s.bytesIn, bytesOut: this.counters.bytesOut + s.bytesOut };
  }

  /** See {@link DataPlane.onDead}. */
  onDead(listener: (reason: string) => void): () => void {
    this.dead.add(listener);
    return () => this.dead.delete(listener);
  }

  /** See {@link DataPlane.onServerDisconnect}. */
  onServerDisconnect(listener: (reason: string) => void): () => void {
    this.ended.add(listener);
    return () => this.ended.delete(listener);
  }

  /** See {@link DataPlane.reconnect}: E_COOKIE_REJECTED when the gateway wants a new login. */
  async reconnect(credentials: SessionCredentials, _ctx: OpenContext): Promise<void> {
    const o = this.parts.options;
    const result = await reconnectCstp({ gateway: this.parts.auth.gateway, cookie: credentials.cookie, address: addressFor(this.parts.auth.gateway, o), ca: o.ca, trust: o.trust, machine: o.machine, timeoutMs: RECONNECT_DEADLINE_MS }, this.config);
    if (result.kind === 'reauthenticate') throw new TandemError(ErrorCodes.COOKIE_REJECTED, result.error.message, { cause: result.error });
    if (!result.sameAddress) {
      result.channel.socket.destroy();
      throw new TandemError(ErrorCodes.NETCONFIG, 'gateway assigned a different address on reconnect; the tunnel must be set up again');
    }
    const s = this.session.stats;
    this.counters = { bytesIn: this.counters.bytesIn + s.bytesIn, bytesOut: this.counters.bytesOut + s.bytesOut };
    const session = new CstpSession(result.channel, { log: this.parts.log });
    this.session = session;
    this.config = result.channel.config;
    this.watch(session);
    this.datapath.attach(session);
    await this.parts.network.reconnect().catch((err: Error) => this.parts.log.warn('vpnc-script reconnect step failed', { error: err.message }));
  }

  /** See {@link DataPlane.close}: resolves once routes and DNS are reverted and the TUN is gone. */
  close(options: { logout: boolean }): Promise<void> {
    this.closing ??= (async () => {
      this.datapath.detach();
      if (options.logout) await this.session.logout('Client logout').catch(() => undefined);
      else this.session.close('closed by the agent');
      const report = await this.parts.network.disconnect();
      this.parts.tun.close();
      if (report.repair.failures.length > 0) this.parts.log.warn('network repair incomplete', { failures: report.repair.failures.join('; ') });
    })();
    return this.closing;
  }

  private watch(session: CstpSession): void {
    session.onClose((why: CstpClosed) => {
      if (this.closing || session !== this.session || why.kind === 'local') return;
      this.datapath.detach();
      const listeners = why.kind === 'server' ? this.ended : this.dead;
      for (const l of [...listeners]) l(why.reason);
    });
  }
}
