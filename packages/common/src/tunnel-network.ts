/**
 * The network part of a tunnel's configuration, as one validated type from the CONNECT
 * response to the routing script: @tandem/anyconnect builds it from the gateway's headers with
 * the parsers here and in ip.ts, and @tandem/tunnel turns it into the host configuration
 * without parsing any of it again. Addresses, prefixes and DNS names carry the {@link Parsed}
 * mark, so a hand-written string cannot take a parsed value's place.
 */
import type { IpAddress, IpPrefix, Parsed } from './ip.js';

/** A DNS name: labels of letters, digits, `-` and `_` (no `-` at either end), no trailing dot. */
export type DnsName = Parsed<string, 'dns-name'>;

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Parses one DNS name: 1–63-character labels, at most 253 characters in all; a single trailing
 * dot is dropped. Returns null for anything else (spaces, quotes, control characters included).
 */
export function parseDnsName(text: string): DnsName | null {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return null;
  return name.split('.').every((label) => LABEL.test(label)) ? (name as DnsName) : null;
}

/** Addresses, routes, DNS and MTU a gateway assigned to a tunnel, every value parsed. */
export interface TunnelNetwork {
  /** IPv4 lease; `prefix` absent when the gateway sent no netmask. */
  ipv4?: { address: IpAddress; prefix?: number };
  /** IPv6 lease with its prefix length (host bits kept). */
  ipv6?: { address: IpAddress; prefix: number };
  /** DNS servers, either family, in the gateway's order. */
  dns: IpAddress[];
  /** WINS servers. */
  nbns: IpAddress[];
  /** Default / search domains (X-CSTP-Default-Domain). */
  defaultDomains: DnsName[];
  /** Split-DNS domains (X-CSTP-Split-DNS). */
  splitDns: DnsName[];
  /** Routes into the tunnel; none means the default route goes through it. */
  splitInclude: IpPrefix[];
  /** Routes kept outside the tunnel. */
  splitExclude: IpPrefix[];
  /** Tunnel MTU. */
  mtu: number;
}
