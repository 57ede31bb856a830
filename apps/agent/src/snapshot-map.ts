/**
 * The one place engine snapshots become contract shapes (`status`, `watch`, `state` events,
 * `stats`, `machineTunnel.*`). Fields are copied one by one from the engine's secret-free
 * projection — the session cookie is not in it, and nothing here spreads an object — and the
 * IPC layer validates the result strictly, so an extra field would fail instead of leaking.
 */
import { ErrorCodes, redactor, type ErrorCode } from '@tandem/common';
import type { ErrorCause, StatusSnapshot, TunnelSnapshot as WireTunnel, TunnelState } from '@tandem/contract';
import type { EngineSnapshot, SessionCause, TunnelKind, TunnelSnapshot } from '@tandem/engine';

const CODE_OF: Record<SessionCause, ErrorCode> = {
  'auth-rejected': ErrorCodes.AUTH_REJECTED,
  'auth-unsupported': ErrorCodes.AUTH_UNSUPPORTED,
  'server-cert-untrusted': ErrorCodes.SERVER_CERT_UNTRUSTED,
  'gateway-unreachable': ErrorCodes.GATEWAY_UNREACHABLE,
  'cookie-rejected': ErrorCodes.COOKIE_REJECTED,
  'reconnect-timeout': ErrorCodes.GATEWAY_TIMEOUT,
  'tun-failed': ErrorCodes.TUN,
  'netconfig-failed': ErrorCodes.NETCONFIG,
  'no-certificate': ErrorCodes.CERT_NOT_FOUND,
  'protocol-error': ErrorCodes.PROTOCOL,
  'gateway-ended': ErrorCodes.TUNNEL_CLOSED,
  'banner-declined': ErrorCodes.BANNER_DECLINED,
  internal: ErrorCodes.INTERNAL,
};

const iso = (ms: number): string => new Date(ms).toISOString();
const text = (s: string, max: number): string => redactor.string(s).slice(0, max);

function cause(t: TunnelSnapshot): ErrorCause | undefined {
  if (t.cause === undefined) return undefined;
  return { code: CODE_OF[t.cause], message: text(t.message ?? t.cause, 2048) };
}

function addresses(list: readonly string[]): { ipv4?: string; ipv6?: string; dns: string[]; searchDomains: string[] } {
  const out: { ipv4?: string; ipv6?: string; dns: string[]; searchDomains: string[] } = { dns: [], searchDomains: [] };
  const v4 = list.find((a) => !a.includes(':'));
  const v6 = list.find((a) => a.includes(':'));
  if (v4) out.ipv4 = v4.slice(0, 64);
  if (v6) out.ipv6 = v6.slice(0, 64);
  return out;
}

/** The contract's state of one engine tunnel. */
export function wireState(t: TunnelSnapshot): TunnelState {
  const gateway = text(t.gateway ?? '', 1024);
  const since = iso(t.since);
  switch (t.state) {
    case 'idle':
      return { state: 'idle' };
    case 'authenticating':
      return { state: 'connecting', gateway, since, stage: 'auth' };
    case 'connecting':
      return { state: 'connecting', gateway, since, stage: 'tunnel' };
    case 'connected':
      return {
        state: 'connected',
        gateway,
        since,
        addresses: addresses(t.addresses),
        bytesIn: t.bytesIn,
        bytesOut: t.bytesOut,
        dtls: t.details?.dtls ?? false,
      };
    case 'reconnecting': {
      const c = cause(t);
      return { state: 'reconnecting', gateway, since, attempt: t.reconnect?.attempt ?? 0, ...(c ? { cause: c } : {}) };
    }
    case 'disconnecting':
      return { state: 'disconnecting', gateway, since };
    case 'error':
      return {
        state: 'error',
        since,
        ...(t.gateway ? { gateway } : {}),
        cause: cause(t) ?? { code: ErrorCodes.INTERNAL, message: 'failed' },
      };
  }
}

/** One tunnel of an engine snapshot in the contract's shape (idle when the engine has none). */
export function wireTunnel(snapshot: EngineSnapshot, kind: TunnelKind): WireTunnel {
  const t = snapshot.tunnels.find((x) => x.kind === kind);
  if (!t) return { tunnel: kind, status: { state: 'idle' } };
  const status = wireState(t);
  return {
    tunnel: kind,
    ...(kind === 'user' && t.ownerUid !== undefined && status.state !== 'idle' ? { ownerUid: t.ownerUid } : {}),
    status,
  };
}

/**
 * The physical network's trust as clients show it: the management profile's verdict, else (no
 * management profile, or no TND in it) the user profiles', which decides the user tunnel's
 * TrustedNetworkPolicy — so a tray shows "trusted network" after that policy ended the tunnel.
 */
export function networkTrust(snapshot: EngineSnapshot): EngineSnapshot['tnd']['verdict'] {
  return snapshot.tnd.verdict !== 'unknown' ? snapshot.tnd.verdict : snapshot.userTnd.verdict;
}

/** Both tunnels, as `status` returns them and `state` events carry them. */
export function wireStatus(snapshot: EngineSnapshot): StatusSnapshot {
  return {
    machine: wireTunnel(snapshot, 'machine'),
    user: wireTunnel(snapshot, 'user'),
    network: {
      trust: networkTrust(snapshot),
      blocked: snapshot.alwaysOn.blocking,
      ...(snapshot.portal === 'detected' ? { portal: 'detected' as const } : {}),
    },
  };
}

type Section = { title: string; entries: Array<{ name: string; value: string }> };

/** What vpncli prints for a value it does not have. */
const NA = 'Not Available';
/** Routes listed per family in `stats` (the contract allows 128 entries per section). */
const MAX_ROUTES = 127;

const MODE_TEXT = {
  all: 'Tunnel All Traffic',
  'split-include': 'Split Include',
  'split-exclude': 'Split Exclude',
  none: 'Not Available',
} as const;

function stateText(t: TunnelSnapshot | undefined): string {
  if (t === undefined || t.state === 'idle') return 'Disconnected';
  if (t.state === 'connected') return 'Connected';
  if (t.state === 'error') return 'Disconnected (error)';
  if (t.state === 'reconnecting') return 'Reconnecting';
  return t.state === 'disconnecting' ? 'Disconnecting' : 'Connecting';
}

/** The management tunnel's line, as vpncli words it ("Disconnected (user tunnel active)"). */
function managementText(snapshot: EngineSnapshot, user: TunnelSnapshot | undefined): string {
  const m = snapshot.tunnels.find((x) => x.kind === 'machine');
  if (m && m.state !== 'idle') return stateText(m);
  if (!snapshot.machineTunnelEnabled) return 'Disconnected (disabled)';
  if (user && user.state !== 'idle') return 'Disconnected (user tunnel active)';
  if (snapshot.tnd.verdict === 'trusted') return 'Disconnected (trusted network)';
  return 'Disconnected';
}

/** The networks the tunnel secures: the listed ones, or everything (minus exclusions) as the default route. */
function secured(mode: keyof typeof MODE_TEXT, listed: readonly string[], any: string): readonly string[] {
  if (mode === 'split-include') return listed;
  return mode === 'none' ? [] : [any];
}

function routes(title: string, list: readonly string[]): Section {
  const shown = list.slice(0, MAX_ROUTES).map((r, i) => ({ name: `Route ${i + 1}`, value: text(r, 64) }));
  if (list.length > MAX_ROUTES) shown.push({ name: 'More', value: `${list.length - MAX_ROUTES} more routes` });
  return { title, entries: shown.length > 0 ? shown : [{ name: 'Network', value: NA }] };
}

/**
 * `stats` in vpncli's layout for one tunnel (the user tunnel, the one a user asks about, unless
 * told otherwise): connection, addresses, bytes, frames, transport, secured routes, and the
 * management tunnel's state.
 */
export function wireStats(snapshot: EngineSnapshot, kind: TunnelKind = 'user'): Section[] {
  const t = snapshot.tunnels.find((x) => x.kind === kind);
  const up = t?.state === 'connected';
  const a = addresses(up ? t.addresses : []);
  const d = up ? t.details : undefined;
  const count = (n: number | undefined): string => String(up ? (n ?? 0) : 0);
  return [
    {
      title: 'Connection Information',
      entries: [
        { name: 'Connection State', value: stateText(t) },
        { name: 'Tunnel Mode (IPv4)', value: d ? MODE_TEXT[d.mode4] : NA },
        { name: 'Tunnel Mode (IPv6)', value: d ? MODE_TEXT[d.mode6] : NA },
        { name: 'Duration', value: up ? `${Math.max(0, Math.round((snapshot.at - t.since) / 1000))} s` : NA },
        { name: 'Management Connection State', value: managementText(snapshot, t) },
      ],
    },
    {
      title: 'Address Information',
      entries: [
        { name: 'Client Address (IPv4)', value: a.ipv4 ?? NA },
        { name: 'Client Address (IPv6)', value: a.ipv6 ?? NA },
        { name: 'Server Address', value: up ? text(t.gateway ?? '', 1024) : NA },
      ],
    },
    {
      title: 'Bytes',
      entries: [
        { name: 'Bytes Sent', value: count(t?.bytesOut) },
        { name: 'Bytes Received', value: count(t?.bytesIn) },
      ],
    },
    {
      title: 'Frames',
      entries: [
        { name: 'Packets Sent', value: count(t?.packetsOut) },
        { name: 'Packets Received', value: count(t?.packetsIn) },
      ],
    },
    {
      title: 'Transport Information',
      entries: [
        // The channel carrying data: DTLS when up, else CSTP's TLS.
        { name: 'Protocol', value: d ? text(d.protocol, 64) : NA },
        { name: 'Cipher', value: d ? text(d.cipher, 128) : NA },
        { name: 'DTLS', value: d?.dtlsNote ? text(d.dtlsNote, 200) : NA },
        { name: 'MTU', value: d ? String(d.mtu) : NA },
      ],
    },
    routes('Secured Routes (IPv4)', d ? secured(d.mode4, d.routes4, '0.0.0.0/0') : []),
    routes('Secured Routes (IPv6)', d ? secured(d.mode6, d.routes6, '::/0') : []),
  ];
}
