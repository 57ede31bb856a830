/**
 * The CONNECT response headers (`X-CSTP-*`, `X-DTLS-*`) as a typed tunnel configuration
 * (docs/protocol.md#connect-response). Every value from the gateway is hostile until checked: addresses and routes are
 * parsed strictly, domains must be label-syntax names, numbers are range-checked, and lists are
 * capped. Out-of-range values are an error, never silently clamped.
 */
import {
  ErrorCodes,
  TandemError,
  netmaskToPrefix,
  normalizeAddress,
  parseAddressWithPrefix,
  parseDnsName,
  parseIpv4,
  parsePrefix,
  type DnsName,
  type IpAddress,
  type IpPrefix,
  type TunnelNetwork,
} from '@tandem/common';
import { parseDtlsAnswer, type DtlsOffer } from './dtls-offer.js';
import { headerValues, type HttpResponse } from './http.js';

/**
 * What the gateway configured for the tunnel: the validated {@link TunnelNetwork} that the
 * tunnel layer applies as it is, plus the protocol's own settings.
 */
export interface TunnelConfig extends TunnelNetwork {
  /** IPv4 lease; without X-CSTP-Netmask a /32. */
  ipv4?: { address: IpAddress; netmask: string; prefix: number };
  tunnelAllDns: boolean;
  clientBypassProtocol: boolean;
  /** Tunnel MTU: the larger of X-CSTP-MTU and X-DTLS-MTU (docs/protocol.md#connect-response). */
  mtu: number;
  baseMtu?: number;
  /** Seconds; 0 = off. */
  dpd: number;
  keepalive: number;
  idleTimeout: number | null;
  sessionTimeout: number | null;
  rekey: { seconds: number; method: string } | null;
  banner: string;
  serverName: string;
  /** What the gateway offers for the DTLS data channel (secrets inside: never log). */
  dtls: DtlsOffer | null;
  /** Why there is no DTLS offer (null when there is one). */
  dtlsNote: string | null;
}

const MAX_ROUTES = 1000;
const MAX_DOMAINS = 32;

function bad(message: string): TandemError {
  return new TandemError(ErrorCodes.PROTOCOL, `gateway tunnel configuration: ${message}`);
}

function int(value: string, name: string, min: number, max: number): number {
  if (!/^\d{1,7}$/.test(value)) throw bad(`${name} "${value.slice(0, 20)}" is not a number`);
  const n = Number(value);
  if (n < min || n > max) throw bad(`${name} ${n} is outside ${min}..${max}`);
  return n;
}

function optionalSeconds(value: string | undefined, name: string): number | null {
  if (value === undefined || value.toLowerCase() === 'none') return null;
  return int(value, name, 0, 10 * 365 * 86400);
}

/** Prefix length of a dotted IPv4 netmask; throws for non-contiguous masks. */
export function maskToPrefix(mask: string): number {
  if (parseIpv4(mask) === null) throw bad(`netmask "${mask.slice(0, 40)}" is not an IPv4 mask`);
  const prefix = netmaskToPrefix(mask);
  if (prefix === null) throw bad(`netmask ${mask} is not contiguous`);
  return prefix;
}

/**
 * Parses a pushed route: `net/mask` (IPv4 dotted mask or length) or `net/len` (IPv6). Host
 * bits are cleared (and flagged in `hostBitsFixed`), as openconnect does.
 */
export function parseRoute(value: string): IpPrefix {
  const text = value.trim();
  const slash = text.indexOf('/');
  if (slash < 0) throw bad(`route "${value.slice(0, 60)}" is not net/mask`);
  const parsed = parsePrefix(text);
  if (parsed) return parsed;
  // Say why, for the log: the common parser only answers yes or no.
  if (!normalizeAddress(text.slice(0, slash))) throw bad(`route "${value.slice(0, 60)}" has no IP address`);
  const mask = text.slice(slash + 1);
  if (mask.includes('.')) maskToPrefix(mask);
  throw bad(`route "${value.slice(0, 60)}" has a bad prefix length`);
}

function domain(value: string, name: string): DnsName {
  const d = parseDnsName(value.trim());
  if (!d) throw bad(`${name} "${value.slice(0, 60)}" is not a DNS name`);
  return d;
}

function ip(value: string, name: string): IpAddress {
  const v = normalizeAddress(value.trim());
  if (!v) throw bad(`${name} "${value.trim().slice(0, 60)}" is not an IP address`);
  return v.address;
}

function bool(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}

/** Builds the typed configuration from a `200 CONNECTED` response. */
export function parseTunnelConfig(res: Pick<HttpResponse, 'headers'>): TunnelConfig {
  const all = (n: string): string[] => headerValues(res, n);
  const one = (n: string): string | undefined => {
    const v = all(n);
    if (v.length > 1 && new Set(v).size > 1) throw bad(`conflicting ${n} headers`);
    return v[0];
  };
  const cap = <T>(list: T[], name: string, max = MAX_ROUTES): T[] => {
    if (list.length > max) throw bad(`more than ${max} ${name} entries (${list.length})`);
    return list;
  };
  const cfg: TunnelConfig = {
    dns: [],
    nbns: [],
    defaultDomains: [],
    splitDns: [],
    splitInclude: [],
    splitExclude: [],
    tunnelAllDns: bool(one('x-cstp-tunnel-all-dns')),
    clientBypassProtocol: bool(one('x-cstp-client-bypass-protocol')),
    mtu: 0,
    dpd: 0,
    keepalive: 0,
    idleTimeout: null,
    sessionTimeout: null,
    rekey: null,
    // eslint-disable-next-line no-control-regex -- control characters are what is stripped
    banner: (one('x-cstp-banner') ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 4096),
    serverName: (one('x-cstp-server-name') ?? '').slice(0, 200),
    dtls: null,
    dtlsNote: null,
  };
  for (const a of all('x-cstp-address')) {
    const addr = normalizeAddress(a);
    if (addr?.family === 4) cfg.ipv4 = { address: addr.address, netmask: '255.255.255.255', prefix: 32 };
    else if (addr?.family === 6) cfg.ipv6 = { address: addr.address, prefix: 128 };
    else throw bad(`X-CSTP-Address "${a.slice(0, 60)}" is not an IP address`);
  }
  const mask = one('x-cstp-netmask');
  if (mask) {
    // Dotted mask for an IPv4 lease; `addr/len` pairs with an IPv6 X-CSTP-Address.
    if (parseIpv4(mask) !== null) {
      if (cfg.ipv4) cfg.ipv4 = { ...cfg.ipv4, netmask: mask, prefix: maskToPrefix(mask) };
    } else {
      const r = parseAddressWithPrefix(mask);
      if (r?.family !== 6)
        throw bad(`X-CSTP-Netmask "${mask.slice(0, 60)}" is neither a dotted mask nor IPv6 addr/len`);
      if (cfg.ipv6) cfg.ipv6 = { ...cfg.ipv6, prefix: r.prefix };
    }
  }
  const a6 = one('x-cstp-address-ip6');
  if (a6) {
    // A lease keeps its host bits: fd00::5/64 is the address fd00::5 on a /64.
    const r = parseAddressWithPrefix(a6.trim());
    if (r?.family !== 6) throw bad(`X-CSTP-Address-IP6 "${a6.slice(0, 60)}" is not IPv6 addr/len`);
    cfg.ipv6 = { address: r.address, prefix: r.prefix };
  }
  if (!cfg.ipv4 && !cfg.ipv6) throw bad('no tunnel address (X-CSTP-Address)');
  cfg.dns = cap(
    [...all('x-cstp-dns'), ...all('x-cstp-dns-ip6')].map((v) => ip(v, 'DNS server')),
    'DNS',
    16,
  ).slice(0, 3);
  cfg.nbns = cap(
    all('x-cstp-nbns').map((v) => ip(v, 'NBNS server')),
    'NBNS',
    16,
  );
  cfg.defaultDomains = cap(
    all('x-cstp-default-domain')
      .flatMap((v) => v.split(/[\s,]+/).filter(Boolean))
      .map((d) => domain(d, 'default domain')),
    'domain',
    MAX_DOMAINS,
  );
  cfg.splitDns = cap(
    all('x-cstp-split-dns')
      .flatMap((v) => v.split(/[\s,]+/).filter(Boolean))
      .map((d) => domain(d, 'split-DNS domain')),
    'split-DNS',
    MAX_DOMAINS,
  );
  cfg.splitInclude = cap(
    [...all('x-cstp-split-include'), ...all('x-cstp-split-include-ip6')].map(parseRoute),
    'split-include',
  );
  cfg.splitExclude = cap(
    [...all('x-cstp-split-exclude'), ...all('x-cstp-split-exclude-ip6')].map(parseRoute),
    'split-exclude',
  );
  const cstpMtu = one('x-cstp-mtu');
  const dtlsMtu = one('x-dtls-mtu');
  if (!cstpMtu && !dtlsMtu) throw bad('no MTU (X-CSTP-MTU) in the CONNECT response');
  cfg.mtu = Math.max(
    cstpMtu ? int(cstpMtu, 'X-CSTP-MTU', 576, 9000) : 0,
    dtlsMtu ? int(dtlsMtu, 'X-DTLS-MTU', 576, 9000) : 0,
  );
  const base = one('x-cstp-base-mtu');
  if (base) cfg.baseMtu = int(base, 'X-CSTP-Base-MTU', 576, 65535);
  const dpd = all('x-cstp-dpd')
    .map((v) => int(v, 'X-CSTP-DPD', 0, 3600))
    .find((v) => v > 0);
  cfg.dpd = dpd ?? 0;
  const ka = one('x-cstp-keepalive');
  cfg.keepalive = ka ? int(ka, 'X-CSTP-Keepalive', 0, 3600) : 0;
  cfg.idleTimeout = optionalSeconds(one('x-cstp-idle-timeout'), 'X-CSTP-Idle-Timeout');
  const lifetimes = [
    one('x-cstp-session-timeout'),
    one('x-cstp-session-timeout-remaining'),
    one('x-cstp-lease-duration'),
  ]
    .map((v, i) =>
      optionalSeconds(v, ['X-CSTP-Session-Timeout', 'X-CSTP-Session-Timeout-Remaining', 'X-CSTP-Lease-Duration'][i]!),
    )
    .filter((v): v is number => v !== null && v > 0);
  cfg.sessionTimeout = lifetimes.length ? Math.min(...lifetimes) : null;
  const rekey = one('x-cstp-rekey-time');
  if (rekey)
    cfg.rekey = {
      seconds: int(rekey, 'X-CSTP-Rekey-Time', 0, 10 * 365 * 86400),
      method: (one('x-cstp-rekey-method') ?? 'none').slice(0, 20),
    };
  const dtls = parseDtlsAnswer(one);
  cfg.dtls = dtls.offer;
  cfg.dtlsNote = dtls.note;
  return cfg;
}
