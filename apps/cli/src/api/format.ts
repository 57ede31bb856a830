/**
 * Human wording of tunnel state, shared by `status`, `watch`, `connect` and `stats`: one line per
 * tunnel the way a VPN client shows it, and AnyConnect's "Management Connection State" string
 * (as `vpncli stats` prints it).
 */
import type { MachineTunnelSetBy, StatusSnapshot, TunnelSnapshot, TunnelState } from '@tandem/contract';

const TITLE = { machine: 'Machine tunnel', user: 'User tunnel' } as const;

function addresses(state: Extract<TunnelState, { state: 'connected' }>): string {
  const list = [state.addresses.ipv4, state.addresses.ipv6].filter((a): a is string => a !== undefined);
  return list.length > 0 ? ` (${list.join(', ')})` : '';
}

/** Byte counts the way people read them: `1.2 MiB`, exact below 1 KiB. */
export function humanBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} B`;
  let v = n;
  let unit = 'B';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

/** One line for one tunnel: `Machine tunnel: connected to vpn.example.com since … (10.0.0.2)`. */
export function tunnelLine(t: TunnelSnapshot): string {
  const s = t.status;
  const owner = t.ownerUid !== undefined ? ` [uid ${t.ownerUid}]` : '';
  const head = `${TITLE[t.tunnel]}: `;
  switch (s.state) {
    case 'idle':
      return `${head}disconnected`;
    case 'connecting':
      return `${head}connecting to ${s.gateway} since ${s.since}${s.stage ? ` (${s.stage})` : ''}${owner}`;
    case 'connected':
      return `${head}connected to ${s.gateway} since ${s.since}${addresses(s)}${owner}`;
    case 'reconnecting':
      return `${head}reconnecting to ${s.gateway} since ${s.since} (attempt ${s.attempt}${s.cause ? `, last error ${s.cause.code}: ${s.cause.message}` : ''})${owner}`;
    case 'disconnecting':
      return `${head}disconnecting from ${s.gateway} since ${s.since}${owner}`;
    case 'error':
      return `${head}failed${s.gateway ? ` to connect to ${s.gateway}` : ''} at ${s.since}: ${s.cause.code}${s.cause.stage ? ` [${s.cause.stage}]` : ''}: ${s.cause.message}${owner}`;
  }
}

/** The detail lines shown under a connected tunnel (DNS, search domains, counters, transport). */
export function tunnelDetails(t: TunnelSnapshot): string[] {
  const s = t.status;
  if (s.state !== 'connected') return [];
  const out = [`  bytes in/out: ${s.bytesIn} / ${s.bytesOut} (${humanBytes(s.bytesIn)} / ${humanBytes(s.bytesOut)})`];
  if (s.addresses.dns.length > 0) out.push(`  DNS: ${s.addresses.dns.join(', ')}`);
  if (s.addresses.searchDomains.length > 0) out.push(`  search domains: ${s.addresses.searchDomains.join(', ')}`);
  out.push(`  transport: ${s.dtls ? 'DTLS' : 'TLS (CSTP)'}`);
  return out;
}

/** True while the user tunnel is up or on its way up or down (it keeps the machine tunnel away). */
export function userTunnelActive(snap: StatusSnapshot): boolean {
  return snap.user.status.state !== 'idle' && snap.user.status.state !== 'error';
}

/**
 * AnyConnect's management connection state. `Disconnected (user tunnel active)` and
 * `Disconnected (disabled)` are the observed vpncli strings; the others follow their pattern.
 * `enabled` is unknown (undefined) when the caller could not ask `machineTunnel.status`.
 */
export function managementState(snap: StatusSnapshot, enabled?: boolean): string {
  const s = snap.machine.status;
  switch (s.state) {
    case 'connected':
      return 'Connected';
    case 'connecting':
      return 'Connecting';
    case 'reconnecting':
      return 'Reconnecting';
    case 'disconnecting':
      return 'Disconnecting';
    case 'error':
      return `Disconnected (error: ${s.cause.code})`;
    case 'idle':
      if (enabled === false) return 'Disconnected (disabled)';
      if (userTunnelActive(snap)) return 'Disconnected (user tunnel active)';
      return 'Disconnected';
  }
}

/**
 * The machine tunnel switch: `Machine tunnel disabled by an administrator (uid 0) at …` when an
 * administrator chose (the agent keeps that across restarts), else just the state.
 */
export function machineSwitchLine(enabled: boolean, setBy?: MachineTunnelSetBy): string {
  const state = `Machine tunnel ${enabled ? 'enabled' : 'disabled'}`;
  return setBy ? `${state} by an administrator (uid ${setBy.uid}) at ${setBy.at}` : state;
}

/** The physical network's line: trust, Always-On's block, a captive portal (absent from older agents). */
function networkLine(snap: StatusSnapshot): string | null {
  const n = snap.network;
  if (!n) return null;
  const parts = [`trust ${n.trust}`];
  if (n.blocked)
    parts.push('Always-On block in place (only the gateways, the tunnel, its split policy and AllowedHosts pass)');
  if (n.portal === 'detected') parts.push('captive portal detected (sign in to the network first)');
  return `Network: ${parts.join('; ')}`;
}

/**
 * The full human `status` report: both tunnels with details, the management state line, the
 * network line, and who switched the machine tunnel when an administrator did.
 */
export function statusReport(snap: StatusSnapshot, enabled?: boolean, setBy?: MachineTunnelSetBy): string {
  const lines: string[] = [];
  for (const t of [snap.machine, snap.user]) lines.push(tunnelLine(t), ...tunnelDetails(t));
  lines.push(`Management Connection State: ${managementState(snap, enabled)}`);
  const net = networkLine(snap);
  if (net) lines.push(net);
  if (enabled !== undefined && setBy) lines.push(machineSwitchLine(enabled, setBy));
  return `${lines.join('\n')}\n`;
}
