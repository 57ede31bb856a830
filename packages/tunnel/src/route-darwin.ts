/**
 * macOS `route` arguments and answers: the argument arrays for adding and deleting a route, what
 * `route -n get` says about the path to an address, and the typed error for a command that
 * failed. Every value put in an argument was parsed first (the pushed configuration when it was
 * built, a journaled route again here before use).
 */
import { ErrorCodes, normalizeAddress, parsePrefix, TandemError } from '@tandem/common';
import type { CommandResult, DarwinCommands } from './commands-api-darwin.js';
import type { JournaledRoute } from './host-changes.js';

/** A route as `route` takes it: a prefix, then a next hop or (when `nextHop` is '') an interface. */
export interface DarwinRoute {
  family: 4 | 6;
  destination: string;
  prefix: number;
  nextHop: string;
  interface: string;
}

const IFNAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/;

/** True for a name `ifconfig` could print (checked before it reaches an argument). */
export function isInterfaceName(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..';
}

/** The typed error for a command that exited non-zero, with its stderr (and stdout: `route` prints there). */
export function commandError(file: string, args: string[], r: CommandResult): TandemError {
  const output = `${r.stderr}${r.stdout}`.trim().slice(-500);
  return new TandemError(ErrorCodes.NETCONFIG, `${[file, ...args].join(' ')} exited ${r.code}: ${output}`, {
    details: { command: file, args, code: r.code, stderr: r.stderr.slice(-500) },
  });
}

/** `route add` of a route that is there already ("File exists"). */
export function alreadyExists(r: CommandResult): boolean {
  return r.code !== 0 && /File exists/i.test(`${r.stderr}${r.stdout}`);
}

/** `route delete` of a route that is not there ("not in table"). */
export function notInTable(r: CommandResult): boolean {
  return r.code !== 0 && /not in table/i.test(`${r.stderr}${r.stdout}`);
}

/** `route -n add|delete` arguments; an IPv6 link-local next hop gets its interface as zone. */
export function routeArgs(verb: 'add' | 'delete', r: DarwinRoute): string[] {
  const host = r.prefix === (r.family === 4 ? 32 : 128);
  const args = ['-n', verb, ...(r.family === 6 ? ['-inet6'] : [])];
  args.push(...(host ? ['-host', r.destination] : ['-net', `${r.destination}/${r.prefix}`]));
  if (r.nextHop === '') return [...args, '-interface', r.interface];
  const linkLocal = r.family === 6 && /^fe[89ab]/i.test(r.nextHop);
  return [...args, linkLocal ? `${r.nextHop}%${r.interface}` : r.nextHop];
}

/** The journal's form of a route. */
export function toJournal(r: DarwinRoute): JournaledRoute {
  return {
    family: r.family,
    destination: `${r.destination}/${r.prefix}`,
    nextHop: r.nextHop,
    interface: r.interface,
  };
}

/** A journaled route parsed again, or null when any value is not what this backend writes. */
export function fromJournal(j: JournaledRoute): DarwinRoute | null {
  const dest = parsePrefix(j.destination);
  if (!dest || dest.hostBitsFixed || dest.family !== j.family || !isInterfaceName(j.interface)) return null;
  let nextHop = '';
  if (j.nextHop !== '') {
    const hop = normalizeAddress(j.nextHop);
    if (!hop || hop.family !== j.family) return null;
    nextHop = hop.address;
  }
  return { family: j.family, destination: dest.address, prefix: dest.prefix, nextHop, interface: j.interface };
}

/** How `route -n get` says an address is reached: a router ('' on the link) through an interface. */
export interface PathTo {
  router: string;
  interface: string;
}

/** Reads `route -n get` output; null when it names no usable interface or router. */
export function parseRouteGet(stdout: string, family: 4 | 6): PathTo | null {
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(stdout)?.[1];
  const iface = field('interface');
  if (!iface || !isInterfaceName(iface)) return null;
  const viaRouter = /\bGATEWAY\b/.test(field('flags') ?? '');
  if (!viaRouter) return { router: '', interface: iface };
  const hop = normalizeAddress((field('gateway') ?? '').replace(/%.*$/, ''));
  if (!hop || hop.family !== family) return null;
  return { router: hop.address, interface: iface };
}

/** Asks `route -n get` for the path to `target` (an address or `default`), scoped to one interface if given. */
export async function pathTo(
  cmds: DarwinCommands,
  family: 4 | 6,
  target: string,
  ifscope?: string,
): Promise<{ path: PathTo | null; result: CommandResult; args: string[] }> {
  const args = ['-n', 'get', ...(family === 6 ? ['-inet6'] : []), ...(ifscope ? ['-ifscope', ifscope] : []), target];
  const result = await cmds.route(args);
  return { path: result.code === 0 ? parseRouteGet(result.stdout, family) : null, result, args };
}
