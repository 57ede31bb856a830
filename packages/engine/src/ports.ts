/**
 * The engine's ports: the small interfaces the agent implements with real adapters
 * (anyconnect for authentication and CSTP, tunnel for TUN and network config, a TLS probe for
 * trusted network detection, the OS for network state and time). The engine depends only on
 * these shapes, so every behaviour in this package runs against fakes in tests.
 *
 * Failures cross these ports as `TandemError`s from @tandem/common; the engine maps their codes
 * to an enumerated error cause (see session/cause.ts), so adapters must reject with the right
 * code: AUTH_REJECTED, SERVER_CERT_UNTRUSTED, GATEWAY_UNREACHABLE / GATEWAY_TIMEOUT,
 * COOKIE_REJECTED, TUN, NETCONFIG, CERT_NOT_FOUND, PROTOCOL.
 */

/** Which tunnel a session is: the certificate-only machine (management) tunnel or the user's. */
export type TunnelKind = 'machine' | 'user';

/** What {@link TunnelDriver.authenticate} needs to know. */
export interface AuthContext {
  /** Gateway URL (`https://host/group`). */
  url: string;
  /** The user whose signer answers MCA/prompts; absent for the machine tunnel. */
  uid?: number;
  /** `initial` for a fresh connect, `reauth` when a cookie was rejected while connected. */
  reason: 'initial' | 'reauth';
  /** Aborted when the engine no longer wants this authentication. */
  signal: AbortSignal;
}

/**
 * What authentication produced: the gateway session. `cookie` is a secret: the engine passes
 * it back to the driver and never puts it in a snapshot, event or log.
 */
export interface SessionCredentials {
  /** The gateway host (or URL) this session belongs to, shown in status. */
  gateway: string;
  /** The `webvpn` session cookie. Secret. */
  cookie: string;
}

/** Options for {@link TunnelDriver.open} and {@link DataPlane.reconnect}. */
export interface OpenContext {
  /** Aborted when the engine no longer wants this bring-up (the promise must still settle). */
  signal: AbortSignal;
}

/** Byte (and, where the plane counts them, packet) counters of a data plane. */
export interface TrafficCounters {
  bytesIn: number;
  bytesOut: number;
  packetsIn?: number;
  packetsOut?: number;
}

/**
 * What statistics show about a running plane besides its counters: the transport and how traffic
 * is routed (vpncli's Transport Information, Tunnel Mode and Secured Routes). Never secret.
 */
export interface PlaneDetails {
  /** Version and suite of the channel carrying data (DTLS when up, else CSTP's TLS). */
  protocol: string;
  cipher: string;
  /** Whether DTLS carries the data. */
  dtls: boolean;
  /** The DTLS channel in words (`up`, `off: …`, `waiting to retry: …`); absent where unknown. */
  dtlsNote?: string;
  mtu: number;
  /** Per family: everything into the tunnel, only listed networks, all but listed, or no address. */
  mode4: 'all' | 'split-include' | 'split-exclude' | 'none';
  mode6: 'all' | 'split-include' | 'split-exclude' | 'none';
  /** Networks routed into the tunnel, `address/prefix`. */
  routes4: string[];
  routes6: string[];
}

/** How a tunnel's configuration routes one address family (`address/prefix` networks). */
export interface SplitFamily {
  /** Networks routed into the tunnel (split-include); empty: all of the family goes in (a full tunnel). */
  include: string[];
  /** Networks the gateway keeps outside the tunnel (split-exclude). */
  exclude: string[];
  /**
   * The gateway allows local LAN access (it excludes `0.0.0.0/32` or `::/128`) and the profile's
   * LocalLanAccess takes it: the host's own networks stay outside the tunnel.
   */
  localLan: boolean;
}

/**
 * What a tunnel's configuration sends outside it, per family; a family the tunnel has no address
 * of is absent (its traffic stays blocked under Always-On, as Secure Client blocks it).
 */
export interface SplitRouting {
  ipv4?: SplitFamily;
  ipv6?: SplitFamily;
}

/** Why a data plane ended by itself (see {@link DataPlane.onEnded}). */
export interface PlaneEnd {
  reason: string;
  /** True when the gateway ended the session; false for a local failure (TUN). */
  byServer: boolean;
}

/**
 * A running tunnel: CSTP (and DTLS) transport, TUN device, routes and DNS. It owns the
 * system's routes/DNS from the moment `open()` resolves until `close()` resolves.
 */
export interface DataPlane {
  /** Addresses the gateway assigned (v4 and/or v6). */
  readonly addresses: readonly string[];
  /** The tunnel's network interface, where the plane has one (Always-On lets it through). */
  readonly interfaceName?: string;
  /** Current byte counters. */
  stats(): TrafficCounters;
  /** Transport and routing facts for statistics, where the plane knows them. */
  details?(): PlaneDetails;
  /**
   * The split policy of the tunnel's configuration, where the plane knows it: Always-On lets
   * what it sends outside the tunnel pass the block. Without it nothing outside passes.
   */
  splitRouting?(): SplitRouting;
  /**
   * Called when the transport died (DPD timeout, TLS/TCP error). TUN, routes and DNS stay in
   * place so that traffic is not leaked while the engine reconnects. `retryNow` says the
   * transport was given up because its path moved (no gateway trouble), so the first reconnect
   * needs no backoff. Returns an unsubscribe.
   */
  onDead(listener: (reason: string, how?: { retryNow?: boolean }) => void): () => void;
  /**
   * Called when the tunnel is over and must not be reconnected: the gateway sent DISCONNECT or
   * TERMINATE (`byServer`), or the tunnel failed locally in a way no reconnect can mend (the
   * TUN device stopped reading). The plane still owns routes/DNS until `close()`.
   */
  onEnded(listener: (end: PlaneEnd) => void): () => void;
  /**
   * Re-establishes the transport with the (possibly renewed) session cookie, keeping TUN,
   * routes and DNS. Rejects with COOKIE_REJECTED on HTTP 401.
   */
  reconnect(session: SessionCredentials, ctx: OpenContext): Promise<void>;
  /**
   * The host's network changed (link, address, route or DNS). The plane checks its transport's
   * path: one whose path is gone reports itself dead through {@link onDead}; one whose path
   * stands is probed. Never rejects for a failed check.
   */
  networkChanged?(): Promise<void>;
  /**
   * Tears the tunnel down. `logout` sends DISCONNECT 0xb0 so the gateway invalidates the
   * cookie. Resolves only once routes and DNS are reverted; the engine treats a rejection as
   * "reverted as far as possible" (the tunnel package's journal recovers the rest).
   */
  close(options: { logout: boolean }): Promise<void>;
}

/**
 * The protocol and data-plane adapter. Authentication touches no routes; `open` applies them.
 * Both must settle even when aborted, and a rejected `open` must have reverted whatever it
 * applied before rejecting, so the engine may consider the network released.
 */
export interface TunnelDriver {
  /** Runs the AnyConnect auth flow (machine: certificate only; user: MCA via the user's signer). */
  authenticate(kind: TunnelKind, ctx: AuthContext): Promise<SessionCredentials>;
  /** CSTP CONNECT, TUN, routes/DNS; resolves when routes and DNS are applied. */
  open(kind: TunnelKind, session: SessionCredentials, ctx: OpenContext): Promise<DataPlane>;
}

/**
 * DNS configuration of the physical network, as TND sees it. Adapters must leave out the
 * tunnel's own interface and pushed DNS: a machine tunnel's corporate DNS domain would
 * otherwise make the network look trusted and tear the tunnel down in a loop.
 */
export interface NetworkInfo {
  /** Connection-specific DNS suffixes / search domains of the active interfaces. */
  dnsDomains: readonly string[];
  /** Resolver addresses of the active interfaces. */
  dnsServers: readonly string[];
}

/** Reports the physical network's DNS state and when it changes. */
export interface NetworkObserver {
  /** The current state, or null while there is no usable network at all. */
  current(): NetworkInfo | null;
  /** Called on interface up/down, address, DNS or route changes. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** Fetches the leaf certificate a TLS server presents, for TrustedHttpsServerList checks. */
export interface TrustedServerProbe {
  /**
   * Connects to `address:port`, completes the TLS handshake without trusting anything and
   * returns the DER of the leaf certificate. Rejects when unreachable or on timeout.
   */
  leafCertificate(address: string, port: number, options: { signal: AbortSignal }): Promise<Uint8Array>;
}

/** Tells whether a user's certificate signer (tray or CLI) is connected to the agent. */
export interface UserPresence {
  /** True when uid has a client that can answer signing requests and prompts right now. */
  hasSigner(uid: number): boolean;
  /** Every uid with a signer connected now, most recent first (for TND's automatic connect). */
  signerUids?(): number[];
}

/** An opaque timer handle from {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Time, injectable so tests run on fake time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `ms`. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a pending {@link Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Reads the globals at call time so vitest fake timers apply to it. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
