/**
 * Always-On's fail-closed block (docs/always-on.md): one nftables table of our own that drops
 * everything but loopback, DHCP and neighbour discovery, the gateways on their TLS/DTLS port,
 * the agent's own DNS lookups, the running tunnel's interface, what the tunnel's split policy
 * sends outside it, AllowedHosts and, during captive-portal remediation, the portal. It is
 * replaced in one `nft -f` transaction (never a moment without it while it should be there)
 * and recorded in the journal directory before it is installed: after a crash it stays until
 * an agent is back to decide, and `tandem recover` removes it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ErrorCodes, parsePrefix, TandemError } from '@tandem/common';
import { ensurePrivateDir, readPrivateFile, removeFile, writeFileAtomic } from '@tandem/common/safe-fs';
import { validateInterfaceName } from './network-config.js';

/** Our table's name (family `inet`, so one table covers IPv4 and IPv6). */
export const FAILCLOSED_TABLE = 'tandem_failclosed';
const RECORD = 'failclosed.json';

/** A gateway the block lets through: its address and TCP/UDP port. */
export interface BlockedGateway {
  address: string;
  port: number;
}

/** What one address family's split policy keeps outside the tunnel (`address/prefix` networks). */
export interface OutsideFamily {
  /** A split-include tunnel's networks: every other destination passes. Empty: no such rule. */
  include: string[];
  /** Networks that pass: split-exclude, the local LAN. */
  exclude: string[];
}

/** What the block lets through besides loopback, DHCP, neighbour discovery and root's DNS. */
export interface BlockSpec {
  gateways: BlockedGateway[];
  /** The interface of a tunnel that is up: everything through it passes. */
  tunnel?: string;
  /**
   * Traffic the split policy keeps outside the tunnel, matched by address rather than
   * interface so it outlives the TUN: to and from these destinations, whatever the interface.
   */
  outside?: { ipv4?: OutsideFamily; ipv6?: OutsideFamily };
  /** AllowedHosts: addresses and `address/prefix` ranges reachable from this host. */
  allowed?: string[];
  /** Captive-portal remediation: these addresses on HTTP/HTTPS, and DNS for every user. */
  portal?: { addresses: string[] };
}

/** What the journal keeps about an installed block. */
export interface FailClosedRecord {
  version: 1;
  table: string;
  since: string;
  spec: BlockSpec;
}

function checkAddress(address: string): number {
  const family = isIP(address);
  if (family === 0) throw new TandemError(ErrorCodes.NETCONFIG, `not an IP address for the block: ${address}`);
  return family;
}

function addressRules(addresses: readonly string[], tail: string): string[] {
  const v4 = addresses.filter((a) => checkAddress(a) === 4);
  const v6 = addresses.filter((a) => checkAddress(a) === 6);
  return [
    ...(v4.length ? [`ip daddr { ${v4.join(', ')} } ${tail}`] : []),
    ...(v6.length ? [`ip6 daddr { ${v6.join(', ')} } ${tail}`] : []),
  ];
}

const ND = 'icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept';

/** `list` as canonical `address/prefix` networks of `family`; anything else is refused. */
function networks(list: readonly string[], family: 4 | 6, what: string): string[] {
  return [
    ...new Set(
      list.map((text) => {
        const p = parsePrefix(text);
        if (!p || p.family !== family)
          throw new TandemError(ErrorCodes.NETCONFIG, `not an IPv${family} network for the block (${what}): ${text}`);
        return `${p.address}/${p.prefix}`;
      }),
    ),
  ];
}

/** Named interval sets (overlaps merged by nft) and the match of each set's rules. */
interface Sets {
  defs: string[];
  /** Matches on the destination (`daddr`) or source (`saddr`) address that accept. */
  match(dir: 'daddr' | 'saddr', what: 'outside' | 'allowed'): string[];
}

function renderSets(spec: BlockSpec): Sets {
  const defs: string[] = [];
  const matches = { outside: [] as Array<[string, string]>, allowed: [] as Array<[string, string]> };
  const set = (name: string, family: 4 | 6, elements: string[]): string => {
    defs.push(
      `  set ${name} {`,
      `    type ipv${family}_addr; flags interval; auto-merge;`,
      `    elements = { ${elements.join(', ')} }`,
      '  }',
    );
    return name;
  };
  for (const family of [4, 6] as const) {
    const ip = family === 4 ? 'ip' : 'ip6';
    const f = family === 4 ? spec.outside?.ipv4 : spec.outside?.ipv6;
    const exclude = networks(f?.exclude ?? [], family, 'split-exclude');
    const include = networks(f?.include ?? [], family, 'split-include');
    if (exclude.length) matches.outside.push([ip, `@${set(`outside${family}`, family, exclude)}`]);
    if (include.length) matches.outside.push([ip, `!= @${set(`tunnel${family}`, family, include)}`]);
    const allowed = (spec.allowed ?? []).filter((a) => (a.includes(':') ? 6 : 4) === family);
    if (allowed.length)
      matches.allowed.push([ip, `@${set(`allowed${family}`, family, networks(allowed, family, 'AllowedHosts'))}`]);
  }
  return {
    defs,
    match: (dir, what) => matches[what].map(([ip, m]) => `${ip} ${dir} ${m}`),
  };
}

/**
 * The nft script that installs (or atomically replaces) the table for `spec`. Every value is
 * checked first (addresses, ports, the interface name), since the script is a small program.
 */
export function renderFailClosed(spec: BlockSpec): string {
  const tunnel = spec.tunnel === undefined ? undefined : validateInterfaceName(spec.tunnel, 'tunnel');
  const sets = renderSets(spec);
  const out: string[] = ['oifname "lo" accept'];
  const inp: string[] = ['iifname "lo" accept'];
  if (tunnel) {
    out.push(`oifname "${tunnel}" accept`);
    inp.push(`iifname "${tunnel}" accept`);
  }
  // Outside the tunnel the split policy decides, both ways, as it would without the block.
  out.push(...sets.match('daddr', 'outside').map((m) => `${m} accept`));
  inp.push(...sets.match('saddr', 'outside').map((m) => `${m} accept`));
  // AllowedHosts are hosts this machine may reach; their replies are established.
  out.push(...sets.match('daddr', 'allowed').map((m) => `${m} accept`));
  const ports = new Map<number, string[]>();
  for (const g of spec.gateways) {
    if (!Number.isInteger(g.port) || g.port < 1 || g.port > 65535)
      throw new TandemError(ErrorCodes.NETCONFIG, `not a port for the block: ${g.port}`);
    checkAddress(g.address);
    ports.set(g.port, [...(ports.get(g.port) ?? []), g.address]);
  }
  for (const [port, addresses] of ports)
    out.push(...addressRules([...new Set(addresses)], `meta l4proto { tcp, udp } th dport ${port} accept`));
  // The agent's captive-portal probe: plain HTTP to the gateways, which a portal intercepts.
  const all = [...new Set(spec.gateways.map((g) => g.address))];
  out.push(...addressRules(all, 'meta skuid 0 tcp dport 80 accept'));
  out.push('udp sport 68 udp dport 67 accept', 'udp sport 546 udp dport 547 accept', ND);
  // The agent runs as root and must resolve the gateways; nobody else's lookups leave.
  out.push('meta skuid 0 meta l4proto { tcp, udp } th dport 53 accept');
  if (spec.portal) {
    out.push(...addressRules(spec.portal.addresses, 'tcp dport { 80, 443 } accept'));
    out.push('meta l4proto { tcp, udp } th dport 53 accept');
  }
  // Replies to what the output chain let out; nothing else comes in.
  inp.push(
    'ct state established,related accept',
    'udp sport 67 udp dport 68 accept',
    'udp sport 547 udp dport 546 accept',
    ND,
  );
  // Forwarded replies pass by their source only when it is an outside network: a reply's
  // source being outside a split-include set is no proof that its destination is.
  const fwd = [
    ...(tunnel ? [`iifname "${tunnel}" accept`, `oifname "${tunnel}" accept`] : []),
    ...sets.match('daddr', 'outside').map((m) => `${m} accept`),
    ...sets
      .match('saddr', 'outside')
      .filter((m) => !m.includes('!='))
      .map((m) => `ct direction reply ${m} accept`),
  ];
  const chain = (name: string, hook: string, rules: string[]): string =>
    [
      `  chain ${name} {`,
      `    type filter hook ${hook} priority filter; policy drop;`,
      ...rules.map((r) => `    ${r}`),
      '  }',
    ].join('\n');
  return [
    `add table inet ${FAILCLOSED_TABLE}`,
    `delete table inet ${FAILCLOSED_TABLE}`,
    `table inet ${FAILCLOSED_TABLE} {`,
    ...sets.defs,
    chain('output', 'output', out),
    chain('input', 'input', inp),
    chain('forward', 'forward', fwd),
    '}',
    '',
  ].join('\n');
}

const NFT_CANDIDATES = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];

/** Absolute path of `nft`; E_NETCONFIG when nftables is not installed. */
export function nftBinary(): string {
  for (const p of NFT_CANDIDATES) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next location
    }
  }
  throw new TandemError(ErrorCodes.NETCONFIG, 'nftables `nft` not found in /usr/sbin, /sbin or /usr/bin');
}

/** Runs `nft -f -` with `script` on stdin; rejects with E_NETCONFIG and nft's message. */
function nft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      nftBinary(),
      ['-f', '-'],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: 10_000, maxBuffer: 1 << 20 },
      (err, _stdout, stderr) => {
        if (err) reject(new TandemError(ErrorCodes.NETCONFIG, `nft failed: ${String(stderr).trim() || err.message}`));
        else resolve();
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(script);
  });
}

/** The block recorded in `journalDir`, or null when none is. */
export function readFailClosedRecord(journalDir: string): FailClosedRecord | null {
  const data = readPrivateFile(join(journalDir, RECORD), ErrorCodes.NETCONFIG);
  if (data === null) return null;
  try {
    const parsed = JSON.parse(data.toString('utf8')) as FailClosedRecord;
    return parsed.version === 1 && parsed.table === FAILCLOSED_TABLE ? parsed : null;
  } catch {
    return null;
  }
}

/** Installs (or replaces) the block: recorded first, so a crash right after still knows it. */
export async function installFailClosed(journalDir: string, spec: BlockSpec): Promise<void> {
  const script = renderFailClosed(spec);
  ensurePrivateDir(journalDir, ErrorCodes.NETCONFIG);
  const record: FailClosedRecord = { version: 1, table: FAILCLOSED_TABLE, since: new Date().toISOString(), spec };
  writeFileAtomic(join(journalDir, RECORD), `${JSON.stringify(record, null, 1)}\n`, 0o600);
  await nft(script);
}

/**
 * Removes the block and its record. Returns whether a table or a record was there; the record
 * goes only once the table is gone, so a failed removal is retried by the next recover.
 */
export async function removeFailClosed(journalDir: string): Promise<boolean> {
  const path = join(journalDir, RECORD);
  const recorded = existsSync(path);
  if (!recorded && !NFT_CANDIDATES.some((p) => existsSync(p))) return false;
  // `add` first makes the delete succeed whether or not the table exists.
  await nft(`add table inet ${FAILCLOSED_TABLE}\ndelete table inet ${FAILCLOSED_TABLE}\n`);
  if (recorded) removeFile(path);
  return recorded;
}
