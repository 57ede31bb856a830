/**
 * What a Windows or macOS backend adds to the host, as the journal records it
 * (`JournalRecord.host`) before the change is made. Linux journals never carry it: there the
 * "before" snapshot is the journal. Only what would outlive the tunnel interface is listed —
 * routes through the physical network (the gateway's host route, split excludes) and DNS policy
 * entries (NRPT rules, dynamic-store keys); the interface's own addresses, routes and DNS go
 * away with the interface.
 */

/** A route added through a physical interface. */
export interface JournaledRoute {
  family: 4 | 6;
  /** `address/prefix`. */
  destination: string;
  /** Next hop, or '' for a route on the link itself. */
  nextHop: string;
  /** Windows: the interface LUID in decimal; macOS: the interface name. */
  interface: string;
}

/** Everything one Windows or macOS session added outside its tunnel interface. */
export interface HostChanges {
  platform: 'win32' | 'darwin';
  /** The tunnel interface: Windows its LUID in decimal, macOS its name. */
  tunnel: string;
  routes: JournaledRoute[];
  /** Windows: NRPT rule key names (`{GUID}`) under DnsPolicyConfig; macOS: dynamic-store keys. */
  dnsKeys: string[];
}

function isRoute(v: unknown): v is JournaledRoute {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<JournaledRoute>;
  return (
    (r.family === 4 || r.family === 6) &&
    typeof r.destination === 'string' &&
    typeof r.nextHop === 'string' &&
    typeof r.interface === 'string'
  );
}

/** Shape check for a journal read from disk (the backend still validates each value before use). */
export function isHostChanges(v: unknown): v is HostChanges {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Partial<HostChanges>;
  return (
    (h.platform === 'win32' || h.platform === 'darwin') &&
    typeof h.tunnel === 'string' &&
    Array.isArray(h.routes) &&
    h.routes.every(isRoute) &&
    Array.isArray(h.dnsKeys) &&
    h.dnsKeys.every((k) => typeof k === 'string')
  );
}
