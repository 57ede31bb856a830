/**
 * Running iproute2 `ip` by absolute path with argument arrays (never a shell), and turning its
 * `route show` / `rule show` output into lines that can be compared and fed back as arguments.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { ErrorCodes, TandemError } from '@tandem/common';

const CANDIDATES = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];
let found: string | undefined;

/** Absolute path of the `ip` binary; throws E_NETCONFIG when iproute2 is missing. */
export function ipBinary(): string {
  if (found) return found;
  for (const p of CANDIDATES) {
    try {
      accessSync(p, constants.X_OK);
      return (found = p);
    } catch {
      // try the next location
    }
  }
  throw new TandemError(ErrorCodes.NETCONFIG, 'iproute2 `ip` not found in /usr/sbin, /sbin, /usr/bin or /bin');
}

/** Result of one `ip` invocation. */
export interface IpResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `ip <args>` with a fixed minimal environment; never throws for a non-zero exit. */
export function ip(args: readonly string[], timeoutMs = 10_000): Promise<IpResult> {
  return new Promise((resolve) => {
    execFile(
      ipBinary(),
      [...args],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * Runs several `ip` commands in one process (`ip -force -batch -`, the commands on stdin):
 * each spawn costs the caller about a millisecond of its own thread, and the host snapshot is
 * taken while a connect is racing the clock. `-force` keeps going after a failing command;
 * `ok` is false when any failed.
 */
export function ipBatch(
  globalArgs: readonly string[],
  commands: readonly string[],
  timeoutMs = 10_000,
): Promise<IpResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ipBinary(),
      [...globalArgs, '-force', '-batch', '-'],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => {}); // a child that died early: its exit status reports it
    child.stdin?.end(`${commands.join('\n')}\n`);
  });
}

/** Runs `ip <args>` and returns stdout, throwing E_NETCONFIG on failure. */
export async function ipOrThrow(args: readonly string[]): Promise<string> {
  const r = await ip(args);
  if (!r.ok) throw new TandemError(ErrorCodes.NETCONFIG, `ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Tokens `ip route show` prints that `ip route add` does not accept (status flags and timers). */
const OUTPUT_ONLY_FLAGS = new Set([
  'linkdown',
  'dead',
  'offload',
  'trap',
  'rt_offload',
  'rt_trap',
  'rt_offload_failed',
  'pervasive',
  'notify',
]);
const OUTPUT_ONLY_PAIRS = new Set(['expires', 'age', 'used', 'hoplimit_used']);

/**
 * Splits `ip route show` output into one normalised line per route: multipath continuation lines
 * are joined, output-only flags and timers dropped and whitespace collapsed, so two snapshots
 * compare equal exactly when the kernel's routes are the same.
 */
export function parseRouteLines(output: string): string[] {
  const routes: string[] = [];
  for (const raw of output.split('\n')) {
    if (!raw.trim()) continue;
    if (/^\s/.test(raw) && routes.length) routes[routes.length - 1] += ` ${raw.trim()}`;
    else routes.push(raw.trim());
  }
  return routes.map(normalizeRoute);
}

/** Normalises one route line (see {@link parseRouteLines}). */
export function normalizeRoute(line: string): string {
  const tokens = line.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (OUTPUT_ONLY_FLAGS.has(t)) continue;
    if (OUTPUT_ONLY_PAIRS.has(t)) {
      i++;
      continue;
    }
    out.push(t);
  }
  return out.join(' ');
}

/** The route's destination as printed (`default`, `10.0.0.0/24`, a bare host), after any type keyword. */
export function routeDestination(line: string): string {
  const tokens = line.split(' ');
  const typed = [
    'unicast',
    'local',
    'broadcast',
    'blackhole',
    'unreachable',
    'prohibit',
    'throw',
    'nat',
    'anycast',
    'multicast',
  ];
  return (typed.includes(tokens[0] ?? '') ? tokens[1] : tokens[0]) ?? '';
}

/** The `dev` of a route line, if any. */
export function routeDevice(line: string): string | undefined {
  const m = / dev (\S+)/.exec(` ${line}`);
  return m?.[1];
}

/** The preferred source address (`src`) of a route line, if any. */
export function routeSource(line: string): string | undefined {
  return / src (\S+)/.exec(` ${line}`)?.[1];
}

/** The addresses of `ip -o addr show` output, without prefix lengths. */
export function parseAddresses(output: string): string[] {
  return [...output.matchAll(/\sinet6? ([0-9a-fA-F:.]+)\//g)].map((m) => m[1]!);
}

/** `ip route show` argument list for re-adding or deleting a route line in a given family. */
export function routeArgs(family: 4 | 6, verb: 'replace' | 'del', line: string): string[] {
  return [`-${family}`, 'route', verb, ...line.split(' '), 'table', 'main'];
}

/** Lines of `ip -o link show`, reduced to "name flags" (indexes and counters vary between runs). */
export function parseLinkNames(output: string): string[] {
  return output
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l
        .replace(/^\d+:\s*/, '')
        .replace(/\s+link\/.*$/, '')
        .replace(/\\\s*$/, '')
        .trim(),
    );
}

/** True when a network interface with this name exists in the current namespace. */
export async function linkExists(name: string): Promise<boolean> {
  return (await ip(['link', 'show', 'dev', name])).ok;
}

/** The route the kernel would use toward one address: outgoing device and source address. */
export interface RouteChoice {
  dev: string;
  /** Preferred source address; absent when the route names none. */
  src?: string;
  /** Next hop, absent for a directly connected destination. */
  via?: string;
}

/**
 * Reads `ip -j route get` output: the first entry's device, source and next hop, or null when
 * the output is not the expected JSON (an unreachable destination makes `ip` fail instead).
 */
export function parseRouteGet(json: string): RouteChoice | null {
  let entries: unknown;
  try {
    entries = JSON.parse(json);
  } catch {
    return null;
  }
  const first = Array.isArray(entries) ? (entries[0] as Record<string, unknown> | undefined) : undefined;
  if (!first || typeof first.dev !== 'string') return null;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const src = str(first.prefsrc);
  const via = str(first.gateway);
  return { dev: first.dev, ...(src ? { src } : {}), ...(via ? { via } : {}) };
}

/** The kernel's route choice toward `address` now; null when there is none (unreachable). */
export async function routeTo(address: string): Promise<RouteChoice | null> {
  const r = await ip(['-j', 'route', 'get', address], 5000);
  return r.ok ? parseRouteGet(r.stdout) : null;
}
