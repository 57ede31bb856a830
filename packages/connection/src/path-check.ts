/**
 * Whether a tunnel's transport still has its path after the host's network changed (a link
 * went down, the default route moved to another uplink, the address changed). A TCP connection
 * whose source address left the machine, or whose packets would now go into the tunnel itself,
 * never recovers: waiting for DPD costs up to two DPD periods of a dead tunnel. Any other change
 * leaves the connection alone, since a link that flaps under an unchanged address loses nothing.
 */
import { routeTo, type RouteChoice } from '@tandem/tunnel';

/** What the check looks at. */
export interface PathFacts {
  /** The gateway's address (VPNGATEWAY). */
  gatewayIp: string;
  /** Our TUN device: a route to the gateway through it is a loop. */
  tunDevice: string;
  /** The transport's local address, undefined once its socket is gone. */
  localAddress: string | undefined;
}

/** The verdict: `moved` with the reason when the transport must be rebuilt on the new path. */
export type PathVerdict = { moved: false } | { moved: true; reason: string };

/** Node reports IPv4-mapped addresses on dual-stack sockets; the kernel's route does not. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The verdict for a known route choice (null: no route to the gateway at all). */
export function judgePath(facts: PathFacts, route: RouteChoice | null): PathVerdict {
  if (route === null) return { moved: true, reason: `no route to the gateway ${facts.gatewayIp}` };
  if (route.dev === facts.tunDevice) {
    return { moved: true, reason: `the route to the gateway ${facts.gatewayIp} now goes into the tunnel itself` };
  }
  const local = facts.localAddress === undefined ? undefined : plain(facts.localAddress);
  if (local !== undefined && route.src !== undefined && route.src !== local) {
    return { moved: true, reason: `the path to the gateway moved from ${local} to ${route.src} (${route.dev})` };
  }
  return { moved: false };
}

/** Looks the route up now and judges it. */
export async function checkPath(facts: PathFacts): Promise<PathVerdict> {
  return judgePath(facts, await routeTo(facts.gatewayIp));
}
