/**
 * The shapes around a {@link Tunnel}: where it goes on the host, what opening it needs, why it
 * ended, and what statistics show about it; plus the small helpers that fill them in.
 */
import type { AuthOptions, AuthResult, ConnectionCache } from '@tandem/anyconnect';
import type { Logger } from '@tandem/common';
import type { HostSnapshot, NetworkSession, TunDevice } from '@tandem/tunnel';
import type { AcceptBanner } from './banner.js';
import type { DataPathStats } from './datapath.js';
import type { EventSink } from './events.js';

/** Where on the host the tunnel goes. */
export interface HostSettings {
  /** TUN interface name or pattern (default `tandem%d`). */
  interface?: string;
  /** vpnc-script path (default the system's). */
  script?: string;
  /** Journal directory (default /run/tandem/netjournal). */
  journalDir?: string;
  /** resolv.conf to snapshot and restore (default /etc/resolv.conf). */
  resolvConf?: string;
  /**
   * Opens the TUN (default: the platform's, `openTunDevice`). Tests pass a Linux device seen
   * without its fd, to run the data path Wintun and utun get (every packet through JavaScript).
   */
  openTun?: (name: string, opts: { headroom: number }) => Promise<TunDevice>;
}

/** What `Tunnel.open` needs from the login. */
export interface TunnelOpening {
  settings: HostSettings & {
    auth: AuthOptions;
    onEvent?: EventSink;
    acceptBanner?: AcceptBanner;
    /** Offer and use DTLS (default true); false keeps all data on CSTP, like openconnect's --no-dtls. */
    dtls?: boolean;
  };
  auth: AuthResult;
  connections: ConnectionCache;
  /** A snapshot started during auth, or undefined to take one now. */
  snapshot: Promise<HostSnapshot> | undefined;
  startedAt: number;
  authMs: number;
  log: Logger;
  signal?: AbortSignal;
}

/** Why a tunnel ended by itself (gateway DISCONNECT, or a TUN that stopped reading). */
export interface TunnelEnd {
  reason: string;
  byServer: boolean;
}

/** Counters across reconnects, plus the data path's and the TUN's own. */
export interface TunnelStats {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  datapath: DataPathStats;
  tun: ReturnType<TunDevice['stats']>;
}

/** How traffic of one address family is routed: vpncli's "Tunnel Mode". */
export type TunnelMode = 'all' | 'split-include' | 'split-exclude' | 'none';

/** What statistics show about a tunnel besides counters (vpncli's Transport Information, Secured Routes). */
export interface TunnelDetails {
  /** Version of the channel carrying data: DTLS (`DTLSv1.2`) when up, else CSTP's TLS (`TLSv1.3`). */
  protocol: string;
  /** Its cipher suite (OpenSSL's name for DTLS, the standard name for TLS). */
  cipher: string;
  /** Whether DTLS carries the data now. */
  dtls: boolean;
  /** The DTLS channel in words: `up`, `off: <why>`, `connecting`, `waiting to retry: <last failure>`. */
  dtlsNote: string;
  mtu: number;
  mode4: TunnelMode;
  mode6: TunnelMode;
  /** Networks sent into the tunnel (`address/prefix`); empty with `all`. */
  routes4: string[];
  routes6: string[];
}

/** The tunnel mode of one family from its address and pushed routes. */
export function modeOf(hasAddress: boolean, include: readonly unknown[], exclude: readonly unknown[]): TunnelMode {
  if (!hasAddress) return 'none';
  if (include.length > 0) return 'split-include';
  return exclude.length > 0 ? 'split-exclude' : 'all';
}

/** Deadline of one reconnect attempt, so a black-holed gateway cannot stall the caller's backoff. */
export const RECONNECT_DEADLINE_MS = 5000;

/** Step timings rounded to 0.1 ms for events. */
export function roundTimings(t: NetworkSession['timings']): NetworkSession['timings'] {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
