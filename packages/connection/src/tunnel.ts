/**
 * A tunnel that is up: the CSTP session, the TUN device, the journaled vpnc-script network
 * session and the data path between them. It is the agent's engine `DataPlane` as it is (the
 * shape matches structurally) and the core of `tandem connect --foreground`, so both reach a
 * gateway through exactly this code.
 *
 * It reconnects once per `reconnect()` call; when and how often is the caller's policy (the
 * engine's state machine, or {@link Connection} for the foreground path). The gateway's rekey is
 * the exception: Node cannot renegotiate TLS, so every rekey is a cookie reconnect done here
 * ("new-tunnel", docs/protocol.md#rekey), and only its failure is reported as a dead transport.
 */
import {
  addressFor,
  CSTP_HEADER_LEN,
  CstpSession,
  openTunnel,
  preloadDtlsSupport,
  reconnectCstp,
  type CstpClosed,
  type TunnelConfig,
} from '@tandem/anyconnect';
import { ErrorCodes, TandemError } from '@tandem/common';
import { NetworkSession, openTunDevice, preloadTunSupport, selectHostNetwork, type TunDevice } from '@tandem/tunnel';
import { abortable } from './abortable.js';
import { bannerText, requireBannerAccepted } from './banner.js';
import { toNetworkConfig } from './config-map.js';
import { DataPath } from './datapath.js';
import { DtlsLink } from './dtls-link.js';
import type { ConnectionEvent } from './events.js';
import { gatewayAddress } from './gateway-ip.js';
import { onQuiet, releaseMemory } from './memory-relief.js';
import {
  modeOf,
  RECONNECT_DEADLINE_MS,
  roundTimings,
  type TunnelDetails,
  type TunnelEnd,
  type TunnelOpening,
  type TunnelStats,
} from './tunnel-types.js';

export * from './tunnel-types.js';
import { checkPath } from './path-check.js';

/** A running tunnel. */
export class Tunnel {
  private readonly deadListeners = new Set<(reason: string, how?: { retryNow?: boolean }) => void>();
  private readonly endListeners = new Set<(end: TunnelEnd) => void>();
  private closing: Promise<void> | null = null;
  private ended = false;
  private rekeying = false;
  private previous = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  /** Stops the watch that gives memory back after traffic (memory-relief.ts). */
  private readonly stopRelief: () => void;

  private constructor(
    private readonly opening: TunnelOpening,
    private cookie: string,
    private session: CstpSession,
    private config: TunnelConfig,
    private readonly network: NetworkSession,
    private readonly tun: TunDevice,
    private readonly datapath: DataPath,
    private readonly dtls: DtlsLink,
  ) {
    this.watch(session);
    this.stopRelief = onQuiet(() => {
      const t = this.totals();
      return t.packetsIn + t.packetsOut;
    });
  }

  /** CONNECT → journal + pre-init → TUN → connect script → data path; reverts on failure. */
  static async open(o: TunnelOpening): Promise<Tunnel> {
    const { settings, auth, connections, log } = o;
    const emit = settings.onEvent ?? (() => {});
    const host = await selectHostNetwork();
    const snapshot = o.snapshot ?? host.captureSnapshot(settings.resolvConf);
    snapshot.catch(() => {}); // observed by NetworkSession.begin, or dropped with a failed CONNECT
    const address = addressFor(auth.gateway, settings.auth);
    const dtlsWanted = settings.dtls !== false;
    // OpenSSL's binding and the packet pump load while CONNECT is in flight, not on the handshake's path.
    if (dtlsWanted) setImmediate(preloadDtlsSupport);
    const connecting = openTunnel(auth, { ...settings.auth, address, connections, dtls: dtlsWanted }).finally(() =>
      connections.close(),
    );
    const { channel, session } = await abortable(connecting, o.signal, (late) => late.session.close('cancelled'));
    // A banner only in the CONNECT answer is asked about here, before a TUN exists: nothing can
    // flow until the user accepts. One already accepted with the login is not asked again.
    const cstpBanner = bannerText(channel.config.banner, true);
    if (cstpBanner && !auth.banner && settings.acceptBanner) {
      try {
        await abortable(requireBannerAccepted(settings.acceptBanner, cstpBanner), o.signal);
      } catch (err) {
        emit({ event: 'banner', source: 'cstp', accepted: false, chars: cstpBanner.length });
        await session.logout('Banner declined').catch(() => {});
        throw err;
      }
      emit({ event: 'banner', source: 'cstp', accepted: true, chars: cstpBanner.length });
    }
    const gatewayIp = await gatewayAddress(auth.gateway.host, address).catch((err: unknown) => {
      session.close('gateway address lookup failed');
      throw err;
    });
    const connectMs = Math.round(performance.now() - o.startedAt) - o.authMs;
    emit({
      event: 'cstp-connected',
      ms: o.authMs + connectMs,
      address: channel.config.ipv4?.address ?? channel.config.ipv6?.address,
      mtu: channel.config.mtu,
    });
    let network: NetworkSession | null = null;
    let tun: TunDevice | null = null;
    let datapath: DataPath | null = null;
    let dtls: DtlsLink | null = null;
    try {
      const netConfig = toNetworkConfig(channel.config, gatewayIp);
      // Loading the TUN driver's FFI (~8 ms of main-thread work) runs while the pre-init
      // script does: begin() has spawned it before this immediate fires.
      setImmediate(preloadTunSupport);
      network = await NetworkSession.begin({
        configurator: host.configurator(settings.script ? { script: settings.script } : {}),
        host,
        config: netConfig,
        snapshot,
        ...(settings.journalDir ? { journalDir: settings.journalDir } : {}),
        ...(settings.resolvConf ? { resolvConf: settings.resolvConf } : {}),
        ...(settings.interface && !settings.interface.includes('%') ? { requestedTunDevice: settings.interface } : {}),
      });
      // The platform's device (tun-backend.ts): /dev/net/tun, Wintun or utun.
      tun = await (settings.openTun ?? openTunDevice)(settings.interface ?? 'tandem%d', { headroom: CSTP_HEADER_LEN });
      // The data path runs before vpnc-script returns: packets flow as soon as the script has
      // set the routes, while it still writes resolv.conf. A TUN read failure leaves nothing to
      // carry traffic, also when it happens while the script is still running.
      let tunFailure: Error | null = null;
      let onTunError: (err: Error) => void = (err) => {
        tunFailure ??= err;
      };
      datapath = new DataPath(tun, (err) => onTunError(err));
      datapath.attach(session, channel.socket);
      // The DTLS handshake runs while vpnc-script sets up routes and DNS, as openconnect's does.
      dtls = new DtlsLink({ datapath, gatewayIp, log, emit });
      if (settings.dtls !== false) dtls.start(channel);
      await network.connect(tun.name);
      const tunnel = new Tunnel(o, auth.cookie, session, channel.config, network, tun, datapath, dtls);
      onTunError = (err) => tunnel.end({ reason: `TUN failed: ${err.message}`, byServer: false });
      const ms = Math.round(performance.now() - o.startedAt);
      emit({
        event: 'connected',
        ms,
        authMs: o.authMs,
        connectMs,
        tunnelUpMs: ms - o.authMs - connectMs,
        sinceProcessStartMs: Math.round(performance.now()),
        steps: roundTimings(network.timings),
        tun: tun.name,
        address: channel.config.ipv4?.address,
        mtu: channel.config.mtu,
        routes: [...netConfig.include4, ...netConfig.include6].map((r) => `${r.address}/${r.prefix}`),
        dns: [...netConfig.dns4, ...netConfig.dns6],
      });
      log.info('tunnel up', { tun: tun.name, address: channel.config.ipv4?.address ?? channel.config.ipv6?.address });
      // Reported after the caller has the tunnel and has subscribed.
      const early = tunFailure as Error | null;
      if (early) setImmediate(() => onTunError(early));
      return tunnel;
    } catch (err) {
      dtls?.stop();
      datapath?.detach();
      await session.logout('Tunnel setup failed').catch(() => {});
      if (network) await network.disconnect().catch(() => {});
      tun?.close();
      throw err;
    }
  }

  /** Addresses the gateway assigned (v4 and/or v6). */
  get addresses(): readonly string[] {
    return [this.config.ipv4?.address, this.config.ipv6?.address].filter((a) => typeof a === 'string');
  }

  /** The gateway's configuration of the current session (never contains the cookie). */
  get tunnelConfig(): TunnelConfig {
    return this.config;
  }

  /**
   * The gateway this tunnel reached: its host name and the address the TCP connection and the
   * pinned host route use. Reconnects and re-authentications go to that address: resolving the
   * name again would ask the tunnel's own DNS server while the tunnel is down.
   */
  get gateway(): { host: string; address: string } {
    return { host: this.opening.auth.gateway.host, address: this.network.networkConfig.gateway.address };
  }

  /** Interface name of the TUN. */
  get interfaceName(): string {
    return this.tun.name;
  }

  /** Transport and routing facts for statistics; never secret. */
  details(): TunnelDetails {
    const net = this.network.networkConfig;
    const cidr = (r: { address: string; prefix: number }): string => `${r.address}/${r.prefix}`;
    const dtls = this.dtls.current;
    return {
      ...(dtls ? dtls.transport : this.session.transport),
      dtls: dtls !== null,
      dtlsNote: this.dtls.describe(this.config.dtlsNote),
      mtu: this.config.mtu,
      mode4: modeOf(this.config.ipv4 !== undefined, net.include4, net.exclude4),
      mode6: modeOf(this.config.ipv6 !== undefined, net.include6, net.exclude6),
      routes4: net.include4.map(cidr),
      routes6: net.include6.map(cidr),
    };
  }

  /** Totals across reconnects. */
  stats(): TunnelStats {
    return { ...this.totals(), datapath: { ...this.datapath.stats }, tun: this.tun.stats() };
  }

  /** Byte and packet counts of the CSTP sessions and of every DTLS channel. */
  private totals(): typeof this.previous {
    const c = this.cstpTotals();
    const d = this.dtls.totals();
    return {
      bytesIn: c.bytesIn + d.bytesIn,
      bytesOut: c.bytesOut + d.bytesOut,
      packetsIn: c.packetsIn + d.packetsIn,
      packetsOut: c.packetsOut + d.packetsOut,
    };
  }

  /** The CSTP sessions before this one plus the current one. */
  private cstpTotals(): typeof this.previous {
    const s = this.session.stats;
    const p = this.previous;
    return {
      bytesIn: p.bytesIn + s.bytesIn,
      bytesOut: p.bytesOut + s.bytesOut,
      packetsIn: p.packetsIn + s.packetsIn,
      packetsOut: p.packetsOut + s.packetsOut,
    };
  }

  /** The transport died (DPD, TLS/TCP loss); TUN, routes and DNS stay until reconnect or close. */
  onDead(listener: (reason: string, how?: { retryNow?: boolean }) => void): () => void {
    this.deadListeners.add(listener);
    return () => this.deadListeners.delete(listener);
  }

  /** The tunnel is over: the gateway ended the session, or the TUN failed. Call `close()`. */
  onEnded(listener: (end: TunnelEnd) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /**
   * The host's network changed: a transport whose path is gone is declared dead at once (the
   * owner reconnects it on the new path); one whose path stands gets a DPD probe, so a path
   * that silently broke is found within one round trip's worth of DPD instead of two periods.
   */
  async networkChanged(): Promise<void> {
    if (this.ended || this.closing) return;
    this.followResolvConf();
    const session = this.session;
    if (this.rekeying || session.isClosed) return;
    const verdict = await checkPath({
      gatewayIp: this.gateway.address,
      tunDevice: this.tun.name,
      localAddress: session.localAddress,
    });
    if (session !== this.session || this.ended || this.closing || session.isClosed) return;
    if (verdict.moved) {
      this.opening.log.info('network path to the gateway changed; reconnecting', { reason: verdict.reason });
      session.abandon(`network changed: ${verdict.reason}`, { retryNow: true });
    } else session.probe();
  }

  /** Keeps the tunnel's DNS and the physical network's new one apart after a write (resolv-drift.ts). */
  private followResolvConf(): void {
    try {
      const r = this.network.followResolvConf();
      if (r.drift === 'unchanged' || r.drift === 'merged') return;
      if (r.contested)
        this.opening.log.warn('another program keeps rewriting resolv.conf; the tunnel DNS is not written back again', {
          drift: r.drift,
        });
      else
        this.opening.log.info('resolv.conf was rewritten under the tunnel', {
          drift: r.drift,
          physicalDnsAdopted: r.adopted,
          tunnelDnsReapplied: r.reapplied,
        });
    } catch (err) {
      this.opening.log.warn('cannot follow a resolv.conf change', { error: (err as Error).message });
    }
  }

  /**
   * One cookie reconnect keeping TUN, routes and DNS: E_COOKIE_REJECTED when the gateway wants
   * a new login, E_NETCONFIG when it hands out another address (the tunnel must be rebuilt).
   */
  async reconnect(credentials: { cookie: string }, ctx: { signal?: AbortSignal } = {}): Promise<void> {
    const t0 = performance.now();
    // vpnc-script pins the host route to the gateway again: after a change of uplink the old
    // one is gone, and the gateway would otherwise be routed into the tunnel itself.
    await this.network
      .attemptReconnect()
      .catch((err: Error) =>
        this.opening.log.warn('vpnc-script attempt-reconnect step failed', { error: err.message }),
      );
    const o = this.opening.settings.auth;
    const gateway = this.opening.auth.gateway;
    const target = {
      gateway,
      cookie: credentials.cookie,
      address: addressFor(gateway, o) ?? this.gateway.address,
      ca: o.ca,
      trust: o.trust,
      machine: o.machine,
      timeoutMs: RECONNECT_DEADLINE_MS,
      dtls: this.opening.settings.dtls !== false,
    };
    // The same TLS groups as the first connection: an old gateway that needed classic groups
    // needs them on every reconnect too.
    const attempt = reconnectCstp({ ...target, ...(o.tlsGroups ? { tlsGroups: o.tlsGroups } : {}) }, this.config);
    const result = await abortable(attempt, ctx.signal, (late) => {
      if (late.kind === 'connected') late.channel.socket.destroy();
    });
    if (result.kind === 'reauthenticate')
      throw new TandemError(ErrorCodes.COOKIE_REJECTED, result.error.message, { cause: result.error });
    if (!result.sameAddress || this.closing) {
      result.channel.socket.destroy();
      if (this.closing) throw new TandemError(ErrorCodes.TUNNEL_CLOSED, 'the tunnel was closed while reconnecting');
      throw new TandemError(
        ErrorCodes.NETCONFIG,
        'gateway assigned a different address on reconnect; the tunnel must be set up again',
      );
    }
    this.previous = this.cstpTotals();
    const session = new CstpSession(result.channel, { log: this.opening.log });
    // A new cookie means the caller had to log in again first.
    const reauthenticated = credentials.cookie !== this.cookie;
    this.cookie = credentials.cookie;
    this.session = session;
    this.config = result.channel.config;
    this.watch(session);
    this.datapath.attach(session, result.channel.socket);
    if (this.opening.settings.dtls !== false) this.dtls.start(result.channel);
    await this.network
      .reconnect()
      .catch((err: Error) => this.opening.log.warn('vpnc-script reconnect step failed', { error: err.message }));
    this.emit({ event: 'reconnected', ms: Math.round(performance.now() - t0), reauthenticated });
  }

  /** Tears down: optional logout (the cookie dies), then routes and DNS reverted, TUN closed. */
  close(options: { logout: boolean; reason?: string }): Promise<void> {
    this.ended = true;
    this.stopRelief();
    this.closing ??= (async () => {
      const dtls = this.dtls.totals();
      this.dtls.stop();
      this.datapath.detach();
      if (options.logout) await this.session.logout(options.reason ?? 'Client logout').catch(() => {});
      else this.session.close(options.reason);
      const report = await this.network.disconnect();
      this.tun.close();
      const failures = report.repair.failures.map(String);
      if (failures.length > 0) this.opening.log.warn('network repair incomplete', { failures: failures.join('; ') });
      this.emit({
        event: 'disconnected',
        repaired: failures.length === 0,
        failures,
        datapath: { ...this.datapath.stats },
        dtls,
      });
      // The tunnel's buffers are garbage now; an agent that stays up should not keep them.
      releaseMemory();
    })();
    return this.closing;
  }

  private emit(e: ConnectionEvent): void {
    this.opening.settings.onEvent?.(e);
  }

  private end(end: TunnelEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.dtls.stop();
    this.datapath.detach();
    this.emit({ event: 'ended', ...end });
    for (const l of [...this.endListeners]) l(end);
  }

  private watch(session: CstpSession): void {
    const onClosed = (why: CstpClosed): void => {
      if (this.ended || session !== this.session || why.kind === 'local') return;
      if (why.kind === 'server') {
        this.end({ reason: why.reason, byServer: true });
        return;
      }
      this.dtls.stop();
      this.datapath.detach();
      this.emit({ event: why.kind === 'dead' ? 'dead' : 'transport-lost', reason: why.reason });
      for (const l of [...this.deadListeners]) l(why.reason, why.retryNow ? { retryNow: true } : {});
    };
    // A session can end while vpnc-script is still running, before there is a Tunnel to hear
    // it: that loss is reported once the owner has the tunnel and has subscribed.
    const already = session.closedReason;
    if (already) setImmediate(() => onClosed(already));
    else session.onClose(onClosed);
    session.once('rekey', (method: string) => {
      if (this.ended || session !== this.session || this.rekeying) return;
      void this.rekey(session, method);
    });
  }

  private async rekey(session: CstpSession, method: string): Promise<void> {
    this.rekeying = true;
    this.emit({ event: 'rekeying', method });
    this.dtls.stop();
    this.datapath.detach();
    session.close('rekey: new tunnel');
    try {
      await this.reconnect({ cookie: this.cookie });
    } catch (err) {
      if (this.ended || this.closing) return;
      const reason = `rekey failed: ${(err as Error).message}`;
      this.emit({ event: 'dead', reason });
      for (const l of [...this.deadListeners]) l(reason);
    } finally {
      this.rekeying = false;
    }
  }
}
