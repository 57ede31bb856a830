/**
 * @tandem/engine/testing — fake ports for tests of the engine and of code built on it: a
 * recording tunnel driver with random delays and injectable faults, a network observer, a TLS
 * probe and user presence. The driver checks the handover invariants itself, independently of
 * the engine's own ownership token, and records every violation instead of throwing (so a
 * property test can report the first one). Never imported by production code (a
 * dependency-cruiser rule checks it); only tests reach it, by this entry point's name.
 */
import { ErrorCodes, TandemError, type ErrorCode } from '@tandem/common';
import { parseProfile, type AutomaticVpnPolicy, type ClientProfile } from '@tandem/profile';
import type { BlockRequest, Firewall } from './always-on.js';
import { systemClock } from './ports.js';
import type {
  AuthContext,
  Clock,
  DataPlane,
  NetworkInfo,
  NetworkObserver,
  OpenContext,
  PlaneEnd,
  SessionCredentials,
  SplitRouting,
  TrafficCounters,
  TrustedServerProbe,
  TunnelDriver,
  TunnelKind,
  UserPresence,
} from './ports.js';

/** A driver or data-plane operation the fake records. */
export type Op = 'authenticate' | 'open' | 'reconnect' | 'close';

/** One recorded start or end of an operation. */
export interface CallRecord {
  at: number;
  kind: TunnelKind;
  op: Op;
  phase: 'start' | 'end';
  ok?: boolean;
  uid?: number;
}

/** Decides a fault for an operation, or null. */
export type FaultPlan = (kind: TunnelKind, op: Op) => ErrorCode | null;

/** Timing and faults of a {@link FakeDriver}. */
export interface FakeDriverOptions {
  /** Delay of each operation in ms (default 10). */
  delay?: (kind: TunnelKind, op: Op) => number;
  faults?: FaultPlan;
  /** Time for the delays and the call records (default: the global timers, so vitest fake timers apply). */
  clock?: Clock;
}

/** A data plane that tests end on purpose: DPD death, gateway DISCONNECT, TUN failure. */
export class FakePlane implements DataPlane {
  readonly addresses: string[];
  readonly interfaceName: string;
  counters: TrafficCounters = { bytesIn: 0, bytesOut: 0 };
  /** The split policy the plane reports (from the driver's `split` when it opened). */
  split: SplitRouting;
  closed = false;
  closing = false;
  private readonly dead = new Set<(r: string, how?: { retryNow?: boolean }) => void>();
  private readonly ended = new Set<(end: PlaneEnd) => void>();

  constructor(
    readonly driver: FakeDriver,
    readonly kind: TunnelKind,
    readonly cookie: string,
  ) {
    this.addresses = kind === 'machine' ? ['10.99.0.2'] : ['10.10.0.2'];
    this.interfaceName = kind === 'machine' ? 'tun-machine' : 'tun-user';
    this.split = structuredClone(driver.split[kind] ?? {});
  }

  splitRouting(): SplitRouting {
    return this.split;
  }

  stats(): TrafficCounters {
    return { ...this.counters };
  }

  onDead(listener: (reason: string, how?: { retryNow?: boolean }) => void): () => void {
    this.dead.add(listener);
    return () => this.dead.delete(listener);
  }

  onEnded(listener: (end: PlaneEnd) => void): () => void {
    this.ended.add(listener);
    return () => this.ended.delete(listener);
  }

  /** How often the engine reported a network change to this plane. */
  networkChanges = 0;

  async networkChanged(): Promise<void> {
    this.networkChanges += 1;
  }

  /** Simulates DPD death (or, with `retryNow`, a transport given up because its path moved). */
  killTransport(reason = 'DPD timeout', how: { retryNow?: boolean } = {}): void {
    for (const l of [...this.dead]) l(reason, how);
  }

  /** Simulates a gateway DISCONNECT. */
  serverDisconnect(reason = 'idle timeout'): void {
    for (const l of [...this.ended]) l({ reason, byServer: true });
  }

  /** Simulates a local failure that ends the tunnel (the TUN stopped reading). */
  tunFailure(reason = 'TUN failed: EIO'): void {
    for (const l of [...this.ended]) l({ reason, byServer: false });
  }

  async reconnect(session: SessionCredentials, ctx: OpenContext): Promise<void> {
    return this.driver.runOp(this.kind, 'reconnect', ctx.signal, () => {
      if (this.driver.rejectedCookies.has(session.cookie))
        throw new TandemError(ErrorCodes.COOKIE_REJECTED, 'HTTP 401');
    });
  }

  async close(options: { logout: boolean }): Promise<void> {
    this.closing = true;
    this.driver.record(this.kind, 'close', 'start');
    await this.driver.sleep(this.driver.delayOf(this.kind, 'close'));
    if (options.logout) this.driver.logouts.push(this.kind);
    this.closed = true;
    this.closing = false;
    // Like the real adapter, a failing close still reverts what it can before rejecting.
    this.driver.applied.delete(this.kind);
    const fault = this.driver.faults(this.kind, 'close');
    this.driver.record(this.kind, 'close', 'end', fault === null);
    if (fault !== null) throw new TandemError(fault, `injected ${fault} in close`);
  }
}

/** A tunnel driver that records every call and flags handover invariant violations. */
export class FakeDriver implements TunnelDriver {
  readonly log: CallRecord[] = [];
  readonly violations: string[] = [];
  readonly applied = new Set<TunnelKind>();
  readonly planes: FakePlane[] = [];
  readonly rejectedCookies = new Set<string>();
  readonly logouts: TunnelKind[] = [];
  /** The split policy each kind's next plane reports (none: a full tunnel). */
  split: Partial<Record<TunnelKind, SplitRouting>> = {};
  private cookieSeq = 0;
  faults: FaultPlan;
  delay: (kind: TunnelKind, op: Op) => number;
  private readonly clock: Clock;

  constructor(options: FakeDriverOptions = {}) {
    this.faults = options.faults ?? (() => null);
    this.delay = options.delay ?? (() => 10);
    this.clock = options.clock ?? systemClock;
  }

  /** Waits `ms` on the driver's clock (its planes wait on it too). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** The delay the options give an operation (its planes use it too). */
  delayOf(kind: TunnelKind, op: Op): number {
    return this.delay(kind, op);
  }

  /** Appends a call record (its planes record their closes here). */
  record(kind: TunnelKind, op: Op, phase: 'start' | 'end', ok?: boolean, uid?: number): void {
    this.log.push({
      at: this.clock.now(),
      kind,
      op,
      phase,
      ...(ok !== undefined ? { ok } : {}),
      ...(uid !== undefined ? { uid } : {}),
    });
  }

  /** The newest plane of a kind. */
  plane(kind: TunnelKind): FakePlane | undefined {
    return [...this.planes].reverse().find((p) => p.kind === kind);
  }

  /** Calls of one op/phase, e.g. every start of `authenticate` for `user`. */
  calls(kind: TunnelKind, op: Op, phase: 'start' | 'end' = 'start'): CallRecord[] {
    return this.log.filter((c) => c.kind === kind && c.op === op && c.phase === phase);
  }

  /** Runs one operation: records start and end, waits its delay, applies an injected fault or an abort. */
  async runOp(kind: TunnelKind, op: Op, signal: AbortSignal, body: () => void, uid?: number): Promise<void> {
    this.record(kind, op, 'start', undefined, uid);
    await this.sleep(this.delay(kind, op));
    try {
      const fault = this.faults(kind, op);
      if (fault !== null) throw new TandemError(fault, `injected ${fault} in ${op}`);
      // A real adapter may or may not notice an abort in time; both must be handled.
      if (signal.aborted && op !== 'open') throw new TandemError(ErrorCodes.TUNNEL_CLOSED, 'aborted');
      body();
      this.record(kind, op, 'end', true);
    } catch (err) {
      this.record(kind, op, 'end', false);
      throw err;
    }
  }

  async authenticate(kind: TunnelKind, ctx: AuthContext): Promise<SessionCredentials> {
    if (kind === 'machine' && ctx.uid !== undefined)
      this.violations.push('machine tunnel authenticated with a user uid');
    if (kind === 'user' && ctx.uid === undefined) this.violations.push('user tunnel authenticated without a uid');
    let creds: SessionCredentials | undefined;
    await this.runOp(
      kind,
      'authenticate',
      ctx.signal,
      () => {
        creds = { gateway: new URL(ctx.url).host, cookie: `SECRET-${kind}-${++this.cookieSeq}` };
      },
      ctx.uid,
    );
    return creds as SessionCredentials;
  }

  async open(kind: TunnelKind, session: SessionCredentials, ctx: OpenContext): Promise<DataPlane> {
    const other: TunnelKind = kind === 'machine' ? 'user' : 'machine';
    if (this.applied.has(other)) this.violations.push(`${kind} open() started while ${other} routes/DNS are applied`);
    if (this.planes.some((p) => p.kind === other && p.closing))
      this.violations.push(`${kind} open() started before ${other} close() resolved`);
    if (this.applied.has(kind)) this.violations.push(`${kind} open() started twice`);
    const plane = new FakePlane(this, kind, session.cookie);
    await this.runOp(kind, 'open', ctx.signal, () => {
      if (this.rejectedCookies.has(session.cookie)) throw new TandemError(ErrorCodes.COOKIE_REJECTED, 'HTTP 401');
    });
    this.applied.add(kind);
    if (this.applied.size > 1)
      this.violations.push(`two tunnels have routes/DNS applied: ${[...this.applied].join(', ')}`);
    this.planes.push(plane);
    return plane;
  }
}

/** A network observer whose current network a test switches. */
export class FakeNetwork implements NetworkObserver {
  private readonly listeners = new Set<() => void>();
  constructor(public info: NetworkInfo | null) {}

  current(): NetworkInfo | null {
    return this.info;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Switches network and notifies, like a DHCP renewal on a new Wi-Fi. */
  change(info: NetworkInfo | null): void {
    this.info = info;
    for (const l of [...this.listeners]) l();
  }
}

/** User presence: the uids in `signers` have a signer connected. */
export class FakeUsers implements UserPresence {
  readonly signers = new Set<number>();
  signerUids(): number[] {
    return [...this.signers].reverse();
  }
  hasSigner(uid: number): boolean {
    return this.signers.has(uid);
  }
}

/** A trusted-server probe answering from `certs` (keyed `address:port`), refusing anything else. */
export class FakeProbe implements TrustedServerProbe {
  readonly certs = new Map<string, Uint8Array>();
  async leafCertificate(address: string, port: number): Promise<Uint8Array> {
    const der = this.certs.get(`${address}:${port}`);
    if (!der) throw new Error('ECONNREFUSED');
    return der;
  }
}

/** A network that matches {@link mgmtProfile}'s default trusted DNS domain and server. */
export const TRUSTED: NetworkInfo = { dnsDomains: ['corp.example.com'], dnsServers: ['192.0.2.53'] };
/** A network that matches none of {@link mgmtProfile}'s defaults. */
export const UNTRUSTED: NetworkInfo = { dnsDomains: ['hotel.example.org'], dnsServers: ['198.51.100.1'] };

/** A management profile with the given TND settings (parsed by the real profile parser). */
export function mgmtProfile(
  tnd: {
    domains?: string;
    servers?: string;
    https?: Array<{ address: string; port: number; hash: string }>;
    enabled?: boolean;
  } = { domains: 'corp.example.com', servers: '192.0.2.53' },
): ClientProfile {
  const https = tnd.https
    ? `<TrustedHttpsServerList>${tnd.https.map((s) => `<TrustedHttpsServer><Address>${s.address}</Address><Port>${s.port}</Port><CertificateHash>${s.hash}</CertificateHash></TrustedHttpsServer>`).join('')}</TrustedHttpsServerList>`
    : '';
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">
  <ClientInitialization>
    <AutomaticVPNPolicy>${tnd.enabled === false ? 'false' : 'true'}
      ${tnd.domains ? `<TrustedDNSDomains>${tnd.domains}</TrustedDNSDomains>` : ''}
      ${tnd.servers ? `<TrustedDNSServers>${tnd.servers}</TrustedDNSServers>` : ''}
      ${https}
    </AutomaticVPNPolicy>
  </ClientInitialization>
  <ServerList><HostEntry><HostName>mgmt</HostName><HostAddress>vpn-mgmt.example.com</HostAddress><UserGroup>machine</UserGroup></HostEntry></ServerList>
</AnyConnectProfile>`;
  return parseProfile(Buffer.from(xml), { managementTunnel: true, file: 'VpnMgmtTunProfile.xml' }).document;
}

/**
 * A user profile's AutomaticVPNPolicy with Always-On (parsed by the real profile parser), trusting
 * the same network as {@link mgmtProfile}'s default. `extra` is XML added inside `<AlwaysOn>`
 * (AllowVPNDisconnect, AllowedHosts) and inside `<ConnectFailurePolicy>` (ApplyLastVPNLocalResourceRules).
 */
export function alwaysOnPolicy(
  connectFailurePolicy: 'Open' | 'Closed' = 'Closed',
  extra: { alwaysOn?: string; failurePolicy?: string } = {},
): AutomaticVpnPolicy {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">
  <ClientInitialization>
    <AutomaticVPNPolicy>true
      <TrustedDNSDomains>corp.example.com</TrustedDNSDomains>
      <TrustedNetworkPolicy>Disconnect</TrustedNetworkPolicy>
      <UntrustedNetworkPolicy>Connect</UntrustedNetworkPolicy>
      <AlwaysOn>true
        <ConnectFailurePolicy>${connectFailurePolicy}${extra.failurePolicy ?? ''}</ConnectFailurePolicy>
        ${extra.alwaysOn ?? ''}
      </AlwaysOn>
    </AutomaticVPNPolicy>
  </ClientInitialization>
  <ServerList><HostEntry><HostName>users</HostName><HostAddress>vpn.example.com</HostAddress></HostEntry></ServerList>
</AnyConnectProfile>`;
  return parseProfile(Buffer.from(xml), { file: 'user.xml' }).document.clientInitialization.automaticVpnPolicy;
}

/** A firewall that records every block it was asked for. */
export class FakeFirewall implements Firewall {
  readonly applied: Array<BlockRequest | null> = [];
  async apply(block: BlockRequest | null): Promise<void> {
    this.applied.push(block === null ? null : structuredClone(block));
  }
  /** The block in place now. */
  get current(): BlockRequest | null | undefined {
    return this.applied[this.applied.length - 1];
  }
}

/** The user tunnel's gateway URL in engine tests. */
export const USER_URL = 'https://vpn.example.com/users';

/** A small seeded PRNG (mulberry32), so a run replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
