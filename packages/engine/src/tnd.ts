/**
 * Trusted Network Detection (docs/profile.md#trusted-network-detection-and-always-on): decides from the physical network's
 * DNS state, and optionally from trusted HTTPS servers, whether the machine is on a trusted
 * network. The DNS part is pure; the HTTPS part goes through the {@link TrustedServerProbe} port.
 */
import { createHash } from 'node:crypto';
import type { AutomaticVpnPolicy, TrustedHttpsServer } from '@tandem/profile';
import type { NetworkInfo, TrustedServerProbe } from './ports.js';

/** The three possible outcomes. `unknown` never starts a machine tunnel. */
export type TndVerdict = 'trusted' | 'untrusted' | 'unknown';

/** A verdict and the human-readable reason behind it (shown in status and logs). */
export interface TndResult {
  verdict: TndVerdict;
  reason: string;
}

/**
 * Matches `value` against a pattern where `*` stands for any run of characters (including
 * dots), case-insensitively: `*.example.com`, `10.1.1.*`. Everything else is literal.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  const p = pattern.trim().toLowerCase();
  const v = value.trim().toLowerCase();
  const parts = p.split('*');
  if (parts.length === 1) return p === v;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!v.startsWith(first) || v.length < first.length + last.length || !v.endsWith(last)) return false;
  // Greedy left-to-right over the middle pieces is exact for `*`-only globs.
  let at = first.length;
  const end = v.length - last.length;
  for (const piece of parts.slice(1, -1)) {
    const found = v.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

function anyMatches(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => wildcardMatch(p, value));
}

/** The DNS part of the decision; `null` when the policy lists no DNS criteria at all. */
export function matchDns(policy: AutomaticVpnPolicy, network: NetworkInfo): TndResult | null {
  const domains = policy.trustedDnsDomains;
  const servers = policy.trustedDnsServers;
  if (domains.length === 0 && servers.length === 0) return null;
  if (domains.length > 0) {
    const hit = network.dnsDomains.find((d) => anyMatches(domains, d));
    if (hit === undefined) {
      return {
        verdict: 'untrusted',
        reason: `no DNS domain of this network (${list(network.dnsDomains)}) is in TrustedDNSDomains`,
      };
    }
  }
  if (servers.length > 0) {
    // Every resolver must be trusted: one rogue resolver next to a trusted one would still
    // let an attacker's network pass as the corporate one.
    const rogue = network.dnsServers.find((s) => !anyMatches(servers, s));
    if (network.dnsServers.length === 0 || rogue !== undefined) {
      return { verdict: 'untrusted', reason: `DNS server ${rogue ?? '(none)'} is not in TrustedDNSServers` };
    }
  }
  const what =
    domains.length > 0 && servers.length > 0
      ? 'DNS domain and servers match'
      : domains.length > 0
        ? 'DNS domain matches'
        : 'DNS servers match';
  return { verdict: 'trusted', reason: what };
}

function list(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/** Hex SHA-256 of a DER certificate, lower case: the `CertificateHash` format. */
export function certificateHash(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

async function probeOne(
  probe: TrustedServerProbe,
  server: TrustedHttpsServer,
  signal: AbortSignal,
): Promise<string | null> {
  try {
    const der = await probe.leafCertificate(server.address, server.port, { signal });
    const actual = certificateHash(der);
    if (actual === server.certificateHash.trim().toLowerCase()) return null;
    return `${server.address}:${server.port} presented certificate ${actual.slice(0, 16)}…, not the trusted one`;
  } catch (err) {
    return `${server.address}:${server.port} unreachable (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Options for {@link evaluateTnd}. */
export interface TndOptions {
  /** Needed only when the policy lists TrustedHttpsServers. */
  probe?: TrustedServerProbe;
  signal?: AbortSignal;
}

/**
 * The full decision. DNS criteria (when given) must match first; then, when
 * TrustedHttpsServerList is used, at least one listed server must answer with its pinned
 * certificate. `unknown` when TND is off or unconfigured, or when there is no network yet.
 */
export async function evaluateTnd(
  policy: AutomaticVpnPolicy,
  network: NetworkInfo | null,
  options: TndOptions = {},
): Promise<TndResult> {
  if (!policy.enabled) return { verdict: 'unknown', reason: 'TND not configured (AutomaticVPNPolicy is off)' };
  const https = policy.trustedHttpsServers;
  if (policy.trustedDnsDomains.length === 0 && policy.trustedDnsServers.length === 0 && https.length === 0) {
    return { verdict: 'unknown', reason: 'TND not configured (no trusted DNS domains, servers or HTTPS servers)' };
  }
  if (network === null) return { verdict: 'unknown', reason: 'no network' };
  const dns = matchDns(policy, network);
  if (dns !== null && (dns.verdict === 'untrusted' || https.length === 0)) return dns;
  if (options.probe === undefined)
    return { verdict: 'unknown', reason: 'TrustedHttpsServerList needs a probe and none is available' };
  const signal = options.signal ?? new AbortController().signal;
  const failures = await Promise.all(https.map((s) => probeOne(options.probe as TrustedServerProbe, s, signal)));
  const okIndex = failures.indexOf(null);
  if (okIndex >= 0) {
    const server = https[okIndex] as TrustedHttpsServer;
    const prefix = dns === null ? '' : `${dns.reason}; `;
    return { verdict: 'trusted', reason: `${prefix}trusted HTTPS server ${server.address}:${server.port} verified` };
  }
  return { verdict: 'untrusted', reason: `no trusted HTTPS server verified: ${failures.join('; ')}` };
}
