/**
 * The typed network configuration a tunnel applies, and its validation.
 *
 * Everything in a {@link NetworkConfig} comes from the gateway (CONNECT response headers), so it
 * is hostile input that will end up in a root shell script and in /etc/resolv.conf
 * (security-reliability-anchors §1.B rule 4, the NetworkManager-vpnc/l2tp injection CVEs).
 * {@link validateNetworkConfig} therefore re-parses every value into a structured form and
 * refuses, with E_NETCONFIG, anything that is not exactly an address, prefix, number or
 * hostname. Only the banner is sanitised instead of refused (see {@link sanitizeBanner}).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { normalizeAddress, netmaskToPrefix, parsePrefix, type ParsedPrefix, formatIpv4, ipv4Mask, parseIpv4 } from '@tandem/common';

/** What the tunnel layer needs to configure the host; the integrator maps the protocol's TunnelConfig to it. */
export interface NetworkConfig {
  /** Gateway IP (VPNGATEWAY): the host route to it keeps the tunnel's own traffic outside. */
  gateway: string;
  /** Tunnel IPv4 address and either a dotted netmask or a prefix length. */
  ipv4?: { address: string; netmask?: string; prefix?: number };
  /** Tunnel IPv6 address and prefix length. */
  ipv6?: { address: string; prefix: number };
  /** DNS servers, IPv4 and/or IPv6. */
  dns?: string[];
  /** WINS servers (IPv4). */
  nbns?: string[];
  /** Default/search domains (X-CSTP-Default-Domain). */
  domains?: string[];
  /** Split-DNS domains (X-CSTP-Split-DNS). */
  splitDns?: string[];
  /** Routes into the tunnel as CIDR, `addr/dotted-mask` or bare host; none means "default route via the tunnel". */
  splitInclude?: string[];
  /** Routes kept outside the tunnel, same syntax. */
  splitExclude?: string[];
  /** Tunnel MTU (X-CSTP-MTU / the larger of CSTP and DTLS MTU, spec §4.7). */
  mtu: number;
  /** Login banner (X-CSTP-Banner); sanitised, never refused. */
  banner?: string;
  /** Gateway idle timeout in seconds (X-CSTP-Idle-Timeout); 0 or absent = none. */
  idleTimeout?: number;
}

/** A route after validation. */
export type ValidatedRoute = ParsedPrefix;

/** A {@link NetworkConfig} whose every value has been re-parsed and re-formatted. */
export interface ValidatedNetworkConfig {
  gateway: { family: 4 | 6; address: string };
  ipv4?: { address: string; network?: { netmask: string; prefix: number; netaddr: string } };
  ipv6?: { address: string; prefix: number };
  dns4: string[];
  dns6: string[];
  nbns: string[];
  domains: string[];
  splitDns: string[];
  include4: ValidatedRoute[];
  include6: ValidatedRoute[];
  exclude4: ValidatedRoute[];
  exclude6: ValidatedRoute[];
  mtu: number;
  banner: string;
  idleTimeout: number;
  /** Human-readable notes about values that were normalised (host bits cleared, extra DNS dropped). */
  warnings: string[];
}

/** Limits applied during validation; the defaults are generous for real gateways, fatal for floods. */
export interface ValidationLimits {
  /** Routes per list (include or exclude, both families together). vpnc-script forks `ip` once per route. */
  maxRoutes: number;
  /** Domains per list. */
  maxDomains: number;
  /** DNS/NBNS entries accepted before refusing; only the first 3 per family are used, like openconnect. */
  maxServers: number;
  /** Banner length after sanitising. */
  maxBannerChars: number;
}

/** Default {@link ValidationLimits}. */
export const DEFAULT_LIMITS: ValidationLimits = { maxRoutes: 1024, maxDomains: 32, maxServers: 16, maxBannerChars: 4096 };

/** openconnect keeps at most three DNS and three NBNS servers; the script sees the same. */
const SERVERS_USED = 3;

/** Characters that are never accepted in a pushed value, because the consumer is a shell script writing resolv.conf. */
const FORBIDDEN = /[\r\n\0"'`]/;

function refuse(reason: string, field: string, value?: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  throw new TandemError(ErrorCodes.NETCONFIG, `refused pushed ${field}: ${reason} (${shown})`, { details: { field, reason } });
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') refuse('not a string', field, value);
  if (FORBIDDEN.test(value)) refuse('contains CR, LF, NUL or a quote', field, value);
  return value;
}

function list(value: unknown, field: string, max: number): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) refuse('not a list', field, value);
  if (value.length > max) refuse(`more than ${max} entries (${value.length})`, field);
  return value.map((v, i) => text(v, `${field}[${i}]`));
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Validates one DNS name: labels of 1–63 letters, digits, `-` or `_` (not at either end), total
 * at most 253 characters; a single trailing dot is dropped. Returns the name or throws E_NETCONFIG.
 */
export function validateDomain(value: unknown, field = 'domain'): string {
  const name = text(value, field).replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) refuse('bad length', field, value);
  for (const label of name.split('.')) if (!LABEL.test(label)) refuse('bad label', field, value);
  return name;
}

/**
 * Makes a banner safe to hand to a shell script: `%XX` escapes are decoded as openconnect does,
 * then every control character becomes a space and quotes, backticks, `$` and `\` are removed.
 * Sanitised rather than refused because real gateways send multi-line banners with apostrophes;
 * the script only echoes it, and the UI shows the original from the protocol layer.
 */
export function sanitizeBanner(value: unknown, maxChars = DEFAULT_LIMITS.maxBannerChars): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') refuse('not a string', 'banner', value);
  const decoded = value.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  // eslint-disable-next-line no-control-regex
  const cleaned = decoded.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/["'`$\\]/g, '');
  return cleaned.slice(0, maxChars).trim();
}

function address(value: unknown, field: string, family?: 4 | 6): { family: 4 | 6; address: string } {
  const parsed = normalizeAddress(text(value, field));
  if (!parsed || (family && parsed.family !== family)) refuse(`not an IPv${family ?? '4/6'} address`, field, value);
  return parsed;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) refuse(`not an integer in ${min}..${max}`, field, value);
  return value;
}

function routes(value: unknown, field: string, limits: ValidationLimits, warnings: string[]): [ValidatedRoute[], ValidatedRoute[]] {
  const v4: ValidatedRoute[] = [];
  const v6: ValidatedRoute[] = [];
  list(value, field, limits.maxRoutes).forEach((entry, i) => {
    const parsed = parsePrefix(entry);
    if (!parsed) refuse('not a CIDR, address/netmask or address', `${field}[${i}]`, entry);
    if (parsed.hostBitsFixed) warnings.push(`${field}[${i}] ${entry} had host bits set; using ${parsed.address}/${parsed.prefix}`);
    (parsed.family === 4 ? v4 : v6).push(parsed);
  });
  return [v4, v6];
}

/**
 * Validates and normalises a pushed configuration. Throws a TandemError with code E_NETCONFIG
 * naming the first offending field; nothing is executed or written before this returns.
 */
export function validateNetworkConfig(config: NetworkConfig, limits: ValidationLimits = DEFAULT_LIMITS): ValidatedNetworkConfig {
  if (typeof config !== 'object' || config === null) refuse('not an object', 'config', config);
  const warnings: string[] = [];
  const gateway = address(config.gateway, 'gateway');
  let ipv4: ValidatedNetworkConfig['ipv4'];
  if (config.ipv4 !== undefined) {
    const addr = address(config.ipv4.address, 'ipv4.address', 4).address;
    let prefix: number | undefined;
    if (config.ipv4.netmask !== undefined) {
      const p = netmaskToPrefix(text(config.ipv4.netmask, 'ipv4.netmask'));
      if (p === null) refuse('not a contiguous netmask', 'ipv4.netmask', config.ipv4.netmask);
      prefix = p;
      if (config.ipv4.prefix !== undefined && config.ipv4.prefix !== p) refuse('prefix and netmask disagree', 'ipv4.prefix', config.ipv4.prefix);
    } else if (config.ipv4.prefix !== undefined) {
      prefix = integer(config.ipv4.prefix, 'ipv4.prefix', 0, 32);
    }
    // Like openconnect, the netmask variables exist only when the gateway sent a netmask.
    if (prefix === undefined) ipv4 = { address: addr };
    else {
      const mask = ipv4Mask(prefix);
      ipv4 = { address: addr, network: { prefix, netmask: formatIpv4(mask), netaddr: formatIpv4(((parseIpv4(addr) ?? 0) & mask) >>> 0) } };
    }
  }
  let ipv6: ValidatedNetworkConfig['ipv6'];
  if (config.ipv6 !== undefined) {
    ipv6 = { address: address(config.ipv6.address, 'ipv6.address', 6).address, prefix: integer(config.ipv6.prefix, 'ipv6.prefix', 1, 128) };
  }
  if (!ipv4 && !ipv6) refuse('no tunnel address', 'ipv4/ipv6', undefined);

  const servers = list(config.dns, 'dns', limits.maxServers).map((d, i) => address(d, `dns[${i}]`));
  const dns4 = servers.filter((s) => s.family === 4).map((s) => s.address);
  const dns6 = servers.filter((s) => s.family === 6).map((s) => s.address);
  if (dns4.length > SERVERS_USED || dns6.length > SERVERS_USED) warnings.push(`only the first ${SERVERS_USED} DNS servers per family are used`);
  const nbns = list(config.nbns, 'nbns', limits.maxServers).map((d, i) => address(d, `nbns[${i}]`, 4).address);

  const domains = list(config.domains, 'domains', limits.maxDomains).map((d, i) => validateDomain(d, `domains[${i}]`));
  const splitDns = list(config.splitDns, 'splitDns', limits.maxDomains).map((d, i) => validateDomain(d, `splitDns[${i}]`));
  const [include4, include6] = routes(config.splitInclude, 'splitInclude', limits, warnings);
  const [exclude4, exclude6] = routes(config.splitExclude, 'splitExclude', limits, warnings);

  return {
    gateway,
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    dns4: dns4.slice(0, SERVERS_USED),
    dns6: dns6.slice(0, SERVERS_USED),
    // A 0.0.0.0 WINS server is what misconfigured gateways send; it is dropped rather than used.
    nbns: nbns.filter((n) => n !== '0.0.0.0').slice(0, SERVERS_USED),
    domains,
    splitDns,
    include4,
    include6,
    exclude4,
    exclude6,
    mtu: integer(config.mtu, 'mtu', ipv6 && !ipv4 ? 1280 : 576, 65535),
    banner: sanitizeBanner(config.banner, limits.maxBannerChars),
    idleTimeout: config.idleTimeout === undefined ? 0 : integer(config.idleTimeout, 'idleTimeout', 0, 2 ** 31 - 1),
    warnings,
  };
}

/** Validates an interface name (IFNAMSIZ 16 incl. NUL; no `/`, whitespace or `.`/`..`). */
export function validateInterfaceName(value: unknown, field = 'interface'): string {
  const name = text(value, field);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/.test(name) || name === '.' || name === '..') refuse('not a valid interface name', field, value);
  return name;
}
