/**
 * One VPN connection end to end: authenticate → CONNECT → network journal + pre-init → TUN →
 * vpnc-script connect → data path; cookie reconnects that keep the TUN, routes and DNS in place
 * (fresh authentication when the gateway refuses the cookie); and a teardown that always puts
 * the host's network back (the journal's verify-and-repair runs even when the script fails).
 */
import {
  addressFor, authenticate, ConnectionCache, CSTP_HEADER_LEN, openTunnel, reconnectCstp, CstpSession,
  type AuthOptions, type AuthResult, type CstpClosed, type TunnelConfig,
} from '@tandem/anyconnect';
import { ErrorCodes, TandemError, nullLogger, type Logger } from '@tandem/common';
import { captureHostSnapshot, LinuxTunDevice, NetworkSession, preloadTunSupport, VpncScriptConfigurator, type TunDevice } from '@tandem/tunnel';
import { toNetworkConfig } from './config-map.js';
import { DataPath } from './datapath.js';
import { gatewayAddress } from './gateway-ip.js';

/** Progress and state changes, for the CLI's `--json` lines and the agent's snapshots. */
export type ConnectionEvent =
  | { event: 'authenticated'; ms: number; mca: boolean }
  | { event: 'cstp-connected'; ms: number; address?: string; mtu: number }
  | { event: 'connected'; ms: number; authMs: number; connectMs: number; tunnelUpMs: number; sinceProcessStartMs: number; steps: NetworkSession['timings']; tun: string; address?: string; mtu: number; routes: string[]; dns: string[] }
  | { event: 'dead' | 'transport-lost'; reason: string }
  | { event: 'reconnecting'; attempt: number; delayMs: number }
  | { event: 'reconnected'; ms: number; reauthenticated: boolean }
  | { event: 'rekeying'; method: string }
  | { event: 'ended'; reason: string; byServer: boolean }
  | { event: 'disconnected'; repaired: boolean; failures: string[] };

/** How to run a connection. */
export interface ConnectionOptions {
  auth: AuthOptions;
  /** TUN interface name or pattern (default `tandem%d`). */
  interface?: string;
  /** vpnc-script path (default the Debian one found by the configurator). */
  script?: string;
  /** Journal directory (default /run/tandem/netjournal). */
  journalDir?: string;
  /** resolv.conf to snapshot and restore (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Reconnect budget in ms (openconnect: 300 s). */
  reconnectBudgetMs?: number;
  log?: Logger;
  onEvent?: (e: ConnectionEvent) => void;
}

const BACKOFF_START_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
const RECONNECT_DEADLINE_MS = 5000;

function roundTimings(t: NetworkSession['timings']): NetworkSession['timings'] {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}

/** A running connection. */
export class Connection {
  private ended = false;
  private closing: Promise<void> | null = null;
  private reconnecting = false;
  private readonly log: Logger;
  private endedCb: (why: string) => void = () => {};

  private constructor(
    private readonly opts: ConnectionOptions,
    private auth: AuthResult,
    private session: CstpSession,
    private config: TunnelConfig,
    private readonly network: NetworkSession,
    private readonly tun: TunDevice,
    private readonly datapath: DataPath,
  ) {
    this.log = opts.log ?? nullLogger;
    this.watch(session);
  }

  /** Brings the tunnel up; on any failure everything applied so far is reverted. */
  static async establish(opts: ConnectionOptions): Promise<Connection> {
    const emit = opts.onEvent ?? (() => {});
    const t0 = performance.now();
    // One keep-alive cache for the whole establish: the auth rounds and CONNECT share the
    // validated TLS connection when the gateway allows it (one handshake instead of two).
    const connections = new ConnectionCache(opts.auth.connections?.enabled ?? true);
    const authenticating = authenticate({ ...opts.auth, connections });
    // The "before" snapshot (two ip(8) children) runs while the gateway authenticates us; it
    // starts from an immediate, once the ClientHello is out, so forking does not delay it.
    // Nothing changes the host between here and the journal, so it is still the state before.
    const snapshot = new Promise<void>((r) => setImmediate(r)).then(() => captureHostSnapshot(opts.resolvConf));
    snapshot.catch(() => {}); // observed by NetworkSession.begin; a failed auth must not leave it unhandled
    const auth = await authenticating.catch((err: unknown) => {
      connections.close();
      throw err;
    });
    const authMs = Math.round(performance.now() - t0);
    emit({ event: 'authenticated', ms: authMs, mca: auth.mca });
    const address = addressFor(auth.gateway, opts.auth);
    const { channel, session } = await openTunnel(auth, { ...opts.auth, address, connections }).finally(() => connections.close());
    const gatewayIp = await gatewayAddress(auth.gateway.host, address).catch((err: unknown) => {
      session.close('gateway address lookup failed');
      throw err;
    });
    const connectMs = Math.round(performance.now() - t0) - authMs;
    emit({ event: 'cstp-connected', ms: authMs + connectMs, address: channel.config.ipv4?.address ?? channel.config.ipv6?.address, mtu: channel.config.mtu });
    let network: NetworkSession | null = null;
    let tun: TunDevice | null = null;
    let datapath: DataPath | null = null;
    try {
      const netConfig = toNetworkConfig(channel.config, gatewayIp);
      // Loading the TUN driver's FFI (~8 ms of main-thread work) runs while the pre-init
      // script does: begin() has spawned it before this immediate fires.
      setImmediate(preloadTunSupport);
      network = await NetworkSession.begin({
        configurator: new VpncScriptConfigurator(opts.script ? { script: opts.script } : {}),
        config: netConfig,
        snapshot,
        ...(opts.journalDir ? { journalDir: opts.journalDir } : {}),
        ...(opts.resolvConf ? { resolvConf: opts.resolvConf } : {}),
        ...(opts.interface && !opts.interface.includes('%') ? { requestedTunDevice: opts.interface } : {}),
      });
      tun = LinuxTunDevice.open(opts.interface ?? 'tandem%d', { headroom: CSTP_HEADER_LEN });
      // The data path runs before vpnc-script returns: packets flow as soon as the script has
      // set the routes, while it is still writing resolv.conf (its last step). A TUN failure
      // (read error) leaves nothing to carry traffic: end like a gateway loss — also when it
      // happened while the script was still running.
      let tunFailure: Error | null = null;
      let onTunError: (err: Error) => void = (err) => { tunFailure ??= err; };
      datapath = new DataPath(tun, (err) => onTunError(err));
      datapath.attach(session, channel.socket);
      await network.connect(tun.name);
      const conn = new Connection(opts, auth, session, channel.config, network, tun, datapath);
      onTunError = (err) => void conn.giveUp(`TUN failed: ${err.message}`);
      const ms = Math.round(performance.now() - t0);
      emit({ event: 'connected', ms, authMs, connectMs, tunnelUpMs: ms - authMs - connectMs, sinceProcessStartMs: Math.round(performance.now()), steps: roundTimings(network.timings), tun: tun.name, address: channel.config.ipv4?.address, mtu: channel.config.mtu, routes: [...netConfig.include4, ...netConfig.include6].map((r) => `${r.address}/${r.prefix}`), dns: [...netConfig.dns4, ...netConfig.dns6] });
      // Ends asynchronously, after the caller has had the connection and registered onEnded.
      if (tunFailure) onTunError(tunFailure);
      return conn;
    } catch (err) {
      datapath?.detach();
      await session.logout('Tunnel setup failed').catch(() => {});
      if (network) await network.disconnect().catch(() => {});
      tun?.close();
      throw err;
    }
  }

  /** The gateway's configuration of the current session (never contains the cookie). */
  get tunnelConfig(): TunnelConfig {
    return this.config;
  }

  /** Interface name of the TUN. */
  get interfaceName(): string {
    return this.tun.name;
  }

  /** Counters: CSTP bytes/packets of the current session, the data path and the TUN. */
  stats(): { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number; datapath: DataPath['stats']; tun: ReturnType<TunDevice['stats']> } {
    const s = this.session.stats;
    return { bytesIn: s.bytesIn, bytesOut: s.bytesOut, packetsIn: s.packetsIn, packetsOut: s.packetsOut, datapath: { ...this.datapath.stats }, tun: this.tun.stats() };
  }

  /** Called once when the connection ends by itself (gateway ended it, reconnect gave up). */
  onEnded(cb: (why: string) => void): void {
    this.endedCb = cb;
  }

  /** Tears down: optional logout (the cookie dies), then routes and DNS reverted, TUN closed. */
  close(options: { logout: boolean; reason?: string } = { logout: true }): Promise<void> {
    this.ended = true;
    this.closing ??= (async () => {
      this.datapath.detach();
      if (options.logout) await this.session.logout(options.reason ?? 'Client logout').catch(() => {});
      else this.session.close(options.reason);
      const report = await this.network.disconnect();
      this.tun.close();
      this.emit({ event: 'disconnected', repaired: report.repair.failures.length === 0, failures: report.repair.failures.map(String) });
    })();
    return this.closing;
  }

  /** Ends the connection on an unrecoverable local failure: network restored, `onEnded` told. */
  private async giveUp(reason: string): Promise<void> {
    if (this.ended) return;
    this.emit({ event: 'ended', reason, byServer: false });
    await this.close({ logout: false, reason });
    this.endedCb(reason);
  }

  private emit(e: ConnectionEvent): void {
    this.opts.onEvent?.(e);
  }

  private watch(session: CstpSession): void {
    session.onClose((why: CstpClosed) => {
      if (this.ended || why.kind === 'local') return;
      if (why.kind === 'server') {
        this.emit({ event: 'ended', reason: why.reason, byServer: true });
        void this.close({ logout: false, reason: why.reason }).then(() => this.endedCb(why.reason));
        return;
      }
      this.emit({ event: why.kind === 'dead' ? 'dead' : 'transport-lost', reason: why.reason });
      void this.reconnect();
    });
    // Node cannot renegotiate TLS (spec §4.8), so every rekey is "new-tunnel": drop this TLS
    // connection without logout (the cookie stays valid) and CONNECT again with the cookie.
    session.once('rekey', (method: string) => {
      if (this.ended || session !== this.session) return;
      this.emit({ event: 'rekeying', method });
      session.close('rekey: new tunnel');
      void this.reconnect();
    });
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting || this.ended) return;
    this.reconnecting = true;
    this.datapath.detach();
    const started = performance.now();
    const budget = this.opts.reconnectBudgetMs ?? 300_000;
    let delay = 0;
    for (let attempt = 1; !this.ended; attempt++) {
      if (delay > 0) {
        this.emit({ event: 'reconnecting', attempt, delayMs: delay });
        await new Promise((r) => setTimeout(r, delay));
        if (this.ended) break;
      }
      try {
        let reauthenticated = false;
        // Short deadlines while the gateway is away, so a dropped SYN does not stall the backoff.
        const base = { gateway: this.auth.gateway, cookie: this.auth.cookie, address: addressFor(this.auth.gateway, this.opts.auth), ca: this.opts.auth.ca, trust: this.opts.auth.trust, machine: this.opts.auth.machine, timeoutMs: RECONNECT_DEADLINE_MS };
        let result = await reconnectCstp(base, this.config);
        if (result.kind === 'reauthenticate') {
          // The gateway forgot the session (restart, timeout): certificate auth needs no user.
          this.auth = await authenticate({ ...this.opts.auth, requestTimeoutMs: RECONNECT_DEADLINE_MS });
          reauthenticated = true;
          result = await reconnectCstp({ ...base, cookie: this.auth.cookie }, this.config);
          if (result.kind === 'reauthenticate') throw result.error;
        }
        if (!result.sameAddress) {
          throw new TandemError(ErrorCodes.NETCONFIG, 'gateway assigned a different address on reconnect; the tunnel must be set up again');
        }
        const session = new CstpSession(result.channel, { log: this.log });
        this.session = session;
        this.config = result.channel.config;
        this.watch(session);
        this.datapath.attach(session, result.channel.socket);
        await this.network.reconnect().catch((err: Error) => this.log.warn('vpnc-script reconnect step failed', { error: err.message }));
        this.emit({ event: 'reconnected', ms: Math.round(performance.now() - started), reauthenticated });
        this.reconnecting = false;
        return;
      } catch (err) {
        this.log.warn('reconnect attempt failed', { attempt, error: (err as Error).message });
        if ((err as TandemError).code === ErrorCodes.NETCONFIG || performance.now() - started > budget) {
          await this.giveUp(`reconnect gave up: ${(err as Error).message}`);
          return;
        }
        delay = Math.min(BACKOFF_CAP_MS, delay === 0 ? BACKOFF_START_MS : delay * 2);
      }
    }
    this.reconnecting = false;
  }
}
