/**
 * Whole-namespace network state for diagnostics and tests: every routing table (v4/v6), policy
 * rules, addresses, links and resolv.conf bytes, and a line-level diff of two captures.
 */
import { ip, parseLinkNames, parseRouteLines } from './iproute.js';
import { snapshotResolvConf, RESOLV_CONF, type ResolvConfSnapshot } from './resolv.js';

/** A capture of the current network namespace. */
export interface NetworkState {
  routes4: string[];
  routes6: string[];
  rules4: string[];
  rules6: string[];
  /** `ip -o addr` lines without interface indexes and lifetimes. */
  addresses: string[];
  /** "name: <FLAGS> mtu … state …" without indexes or link-layer details. */
  links: string[];
  resolvConf: ResolvConfSnapshot;
}

/** Differences in one section of two captures. */
export interface StateDiff {
  section: keyof NetworkState;
  removed: string[];
  added: string[];
}

async function lines(args: string[]): Promise<string[]> {
  const r = await ip(args);
  return r.ok ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Captures routes (all tables), rules, addresses, links and resolv.conf. */
export async function captureNetworkState(resolvConf = RESOLV_CONF): Promise<NetworkState> {
  const [r4, r6, u4, u6, addrs, links] = await Promise.all([
    ip(['-4', 'route', 'show', 'table', 'all']),
    ip(['-6', 'route', 'show', 'table', 'all']),
    lines(['-4', 'rule', 'show']),
    lines(['-6', 'rule', 'show']),
    lines(['-o', 'addr', 'show']),
    ip(['-o', 'link', 'show']),
  ]);
  return {
    routes4: r4.ok ? parseRouteLines(r4.stdout).sort() : [],
    routes6: r6.ok ? parseRouteLines(r6.stdout).sort() : [],
    rules4: u4,
    rules6: u6,
    addresses: addrs
      .map((l) =>
        l
          .replace(/^\d+:\s*/, '')
          .replace(/\s*\\?\s*valid_lft.*$/, '')
          .trim(),
      )
      .sort(),
    links: links.ok ? parseLinkNames(links.stdout).sort() : [],
    resolvConf: snapshotResolvConf(resolvConf),
  };
}

function diffLines(section: keyof NetworkState, a: string[], b: string[]): StateDiff | null {
  const sa = new Set(a);
  const sb = new Set(b);
  const removed = a.filter((l) => !sb.has(l));
  const added = b.filter((l) => !sa.has(l));
  return removed.length || added.length ? { section, removed, added } : null;
}

/** Sections that differ between two captures; an empty array means identical. */
export function diffNetworkState(a: NetworkState, b: NetworkState): StateDiff[] {
  const out: StateDiff[] = [];
  for (const key of ['routes4', 'routes6', 'rules4', 'rules6', 'addresses', 'links'] as const) {
    const d = diffLines(key, a[key], b[key]);
    if (d) out.push(d);
  }
  const ra = a.resolvConf;
  const rb = b.resolvConf;
  if (ra.kind !== rb.kind || ra.target !== rb.target || ra.contentBase64 !== rb.contentBase64) {
    const show = (s: ResolvConfSnapshot): string =>
      `${s.kind}${s.target ? ` -> ${s.target}` : ''}: ${s.contentBase64 === undefined ? '(none)' : JSON.stringify(Buffer.from(s.contentBase64, 'base64').toString('utf8'))}`;
    out.push({ section: 'resolvConf', removed: [show(ra)], added: [show(rb)] });
  }
  return out;
}
