/**
 * The network configuration a tunnel applies, built and validated once.
 *
 * Everything in it comes from the gateway (CONNECT response headers), so it is hostile input
 * that ends up in a root shell script and in /etc/resolv.conf (the NetworkManager-vpnc/l2tp
 * injection CVEs). There are two ways in, and both end in {@link buildNetworkConfig}:
 *  - from the protocol layer, a {@link TunnelNetwork} whose addresses, prefixes and names
 *    @tandem/anyconnect already parsed with @tandem/common's parsers: only counts, ranges and
 *    families are checked here, nothing is parsed again;
 *  - from anywhere else (a JSON file, a test, a child process), a {@link NetworkConfigInput}
 *    of plain strings, which {@link validateNetworkConfig} parses with the same parsers first.
 * Anything that is not exactly an address, prefix, number or hostname is refused with
 * E_NETCONFIG; only the banner is sanitised instead (see {@link sanitizeBanner}). The five
 * configurator steps then take the {@link NetworkConfig} as it is.
 */
import {
  ErrorCodes,
  TandemError,
  formatIpv4,
  ipFamily,
  ipv4Mask,
  netmaskToPrefix,
  normalizeAddress,
  parseDnsName,
  parseIpv4,
  parsePrefix,
  type DnsName,
  type IpAddress,
  type IpPrefix,
  type Parsed,
  type TunnelNetwork,
} from '@tandem/common';

/** Untrusted configuration as plain values (JSON, tests); {@link validateNetworkConfig} checks it. */
export interface NetworkConfigInput {
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
  /** Tunnel MTU (the larger of X-CSTP-MTU and X-DTLS-MTU, docs/protocol.md#connect-response). */
  mtu: number;
  /** Login banner (X-CSTP-Banner); sanitised, never refused. */
  banner?: string;
  /** Gateway idle timeout in seconds (X-CSTP-Idle-Timeout); 0 or absent = none. */
  idleTimeout?: number;
}

/** What {@link buildNetworkConfig} takes besides the pushed network. */
export interface NetworkConfigExtras {
  /** Login banner as the gateway sent it; sanitised here. */
  banner?: string;
  /** Gateway idle timeout in seconds; 0 or absent = none. */
  idleTimeout?: number;
}

/** The configuration every configurator step takes: split by family, capped, re-formatted. */
export type NetworkConfig = Parsed<NetworkConfigFields, 'network-config'>;

/** The fields of a {@link NetworkConfig}. */
export interface NetworkConfigFields {
  gateway: { family: 4 | 6; address: IpAddress };
  ipv4?: { address: IpAddress; network?: { netmask: string; prefix: number; netaddr: string } };
  ipv6?: { address: IpAddress; prefix: number };
  dns4: IpAddress[];
  dns6: IpAddress[];
  nbns: IpAddress[];
  domains: DnsName[];
  splitDns: DnsName[];
  include4: IpPrefix[];
  include6: IpPrefix[];
  exclude4: IpPrefix[];
  exclude6: IpPrefix[];
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
export const DEFAULT_LIMITS: ValidationLimits = {
  maxRoutes: 1024,
  maxDomains: 32,
  maxServers: 16,
  maxBannerChars: 4096,
};

/** openconnect keeps at most three DNS and three NBNS servers; the script sees the same. */
const SERVERS_USED = 3;

/** Characters that are never accepted in a pushed value, because the consumer is a shell script writing resolv.conf. */
const FORBIDDEN = /[\r\n\0"'`]/;

function refuse(reason: string, field: string, value?: unknown): never {
  const shown =
    typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  throw new TandemError(ErrorCodes.NETCONFIG, `refused pushed ${field}: ${reason} (${shown})`, {
    details: { field, reason },
  });
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

function cap<T>(values: readonly T[], field: string, max: number): readonly T[] {
  if (values.length > max) refuse(`more than ${max} entries (${values.length})`, field);
  return values;
}

/**
 * Validates one DNS name: labels of 1–63 letters, digits, `-` or `_` (not at either end), total
 * at most 253 characters; a single trailing dot is dropped. Returns the name or throws E_NETCONFIG.
 */
export function validateDomain(value: unknown, field = 'domain'): DnsName {
  const name = parseDnsName(text(value, field));
  if (!name) refuse('not a DNS name', field, value);
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

function address(value: unknown, field: string, family?: 4 | 6): IpAddress {
  const parsed = normalizeAddress(text(value, field));
  if (!parsed || (family && parsed.family !== family)) refuse(`not an IPv${family ?? '4/6'} address`, field, value);
  return parsed.address;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    refuse(`not an integer in ${min}..${max}`, field, value);
  return value;
}

function routes(value: unknown, field: string, limits: ValidationLimits): IpPrefix[] {
  return list(value, field, limits.maxRoutes).map((entry, i) => {
    const parsed = parsePrefix(entry);
    if (!parsed) refuse('not a CIDR, address/netmask or address', `${field}[${i}]`, entry);
    return parsed;
  });
}

function byFamily(list: readonly IpPrefix[], field: string, warnings: string[]): [IpPrefix[], IpPrefix[]] {
  list.forEach((r, i) => {
    if (r.hostBitsFixed) warnings.push(`${field}[${i}] had host bits set; using ${r.address}/${r.prefix}`);
  });
  return [list.filter((r) => r.family === 4), list.filter((r) => r.family === 6)];
}

/**
 * Builds the configuration the configurator steps apply from a network the protocol layer has
 * already parsed, for the gateway at `gateway` (an IP address; it is parsed here, since it
 * comes from a name lookup rather than from the gateway's headers). Checks what parsing cannot:
 * list sizes, families, prefix and MTU ranges. Throws E_NETCONFIG naming the first offending
 * field; nothing is executed or written before this returns.
 */
export function buildNetworkConfig(
  gateway: string,
  net: TunnelNetwork,
  extras: NetworkConfigExtras = {},
  limits: ValidationLimits = DEFAULT_LIMITS,
): NetworkConfig {
  const warnings: string[] = [];
  const gw = normalizeAddress(gateway);
  if (!gw) refuse('not an IPv4/6 address', 'gateway', gateway);
  let ipv4: NetworkConfigFields['ipv4'];
  if (net.ipv4 !== undefined) {
    if (ipFamily(net.ipv4.address) !== 4) refuse('not an IPv4 address', 'ipv4.address', net.ipv4.address);
    // Like openconnect, the netmask variables exist only when the gateway sent a netmask.
    if (net.ipv4.prefix === undefined) ipv4 = { address: net.ipv4.address };
    else {
      const prefix = integer(net.ipv4.prefix, 'ipv4.prefix', 0, 32);
      const mask = ipv4Mask(prefix);
      ipv4 = {
        address: net.ipv4.address,
        network: {
          prefix,
          netmask: formatIpv4(mask),
          netaddr: formatIpv4(((parseIpv4(net.ipv4.address) ?? 0) & mask) >>> 0),
        },
      };
    }
  }
  let ipv6: NetworkConfigFields['ipv6'];
  if (net.ipv6 !== undefined) {
    if (ipFamily(net.ipv6.address) !== 6) refuse('not an IPv6 address', 'ipv6.address', net.ipv6.address);
    ipv6 = { address: net.ipv6.address, prefix: integer(net.ipv6.prefix, 'ipv6.prefix', 1, 128) };
  }
  if (!ipv4 && !ipv6) refuse('no tunnel address', 'ipv4/ipv6', undefined);

  const servers = cap(net.dns, 'dns', limits.maxServers);
  const dns4 = servers.filter((a) => ipFamily(a) === 4);
  const dns6 = servers.filter((a) => ipFamily(a) === 6);
  if (dns4.length > SERVERS_USED || dns6.length > SERVERS_USED)
    warnings.push(`only the first ${SERVERS_USED} DNS servers per family are used`);
  const nbns = cap(net.nbns, 'nbns', limits.maxServers);
  nbns.forEach((a, i) => {
    if (ipFamily(a) !== 4) refuse('not an IPv4 address', `nbns[${i}]`, a);
  });
  const [include4, include6] = byFamily(
    cap(net.splitInclude, 'splitInclude', limits.maxRoutes),
    'splitInclude',
    warnings,
  );
  const [exclude4, exclude6] = byFamily(
    cap(net.splitExclude, 'splitExclude', limits.maxRoutes),
    'splitExclude',
    warnings,
  );

  const fields: NetworkConfigFields = {
    gateway: gw,
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    dns4: dns4.slice(0, SERVERS_USED),
    dns6: dns6.slice(0, SERVERS_USED),
    // A 0.0.0.0 WINS server is what misconfigured gateways send; it is dropped rather than used.
    nbns: nbns.filter((n) => n !== '0.0.0.0').slice(0, SERVERS_USED),
    domains: [...cap(net.defaultDomains, 'domains', limits.maxDomains)],
    splitDns: [...cap(net.splitDns, 'splitDns', limits.maxDomains)],
    include4,
    include6,
    exclude4,
    exclude6,
    mtu: integer(net.mtu, 'mtu', ipv6 && !ipv4 ? 1280 : 576, 65535),
    banner: sanitizeBanner(extras.banner, limits.maxBannerChars),
    idleTimeout: extras.idleTimeout === undefined ? 0 : integer(extras.idleTimeout, 'idleTimeout', 0, 2 ** 31 - 1),
    warnings,
  };
  return fields as NetworkConfig;
}

/**
 * Validates a configuration of plain values from outside the protocol layer: parses every
 * string with the same parsers @tandem/anyconnect uses, then {@link buildNetworkConfig}.
 * Throws E_NETCONFIG naming the first offending field.
 */
export function validateNetworkConfig(
  config: NetworkConfigInput,
  limits: ValidationLimits = DEFAULT_LIMITS,
): NetworkConfig {
  if (typeof config !== 'object' || config === null) refuse('not an object', 'config', config);
  const gateway = address(config.gateway, 'gateway');
  let ipv4: TunnelNetwork['ipv4'];
  if (config.ipv4 !== undefined) {
    const addr = address(config.ipv4.address, 'ipv4.address', 4);
    let prefix: number | undefined;
    if (config.ipv4.netmask !== undefined) {
      const p = netmaskToPrefix(text(config.ipv4.netmask, 'ipv4.netmask'));
      if (p === null) refuse('not a contiguous netmask', 'ipv4.netmask', config.ipv4.netmask);
      if (config.ipv4.prefix !== undefined && config.ipv4.prefix !== p)
        refuse('prefix and netmask disagree', 'ipv4.prefix', config.ipv4.prefix);
      prefix = p;
    } else if (config.ipv4.prefix !== undefined) {
      prefix = integer(config.ipv4.prefix, 'ipv4.prefix', 0, 32);
    }
    ipv4 = prefix === undefined ? { address: addr } : { address: addr, prefix };
  }
  const net: TunnelNetwork = {
    ...(ipv4 ? { ipv4 } : {}),
    ...(config.ipv6 !== undefined
      ? { ipv6: { address: address(config.ipv6.address, 'ipv6.address', 6), prefix: config.ipv6.prefix } }
      : {}),
    dns: list(config.dns, 'dns', limits.maxServers).map((d, i) => address(d, `dns[${i}]`)),
    nbns: list(config.nbns, 'nbns', limits.maxServers).map((d, i) => address(d, `nbns[${i}]`, 4)),
    defaultDomains: list(config.domains, 'domains', limits.maxDomains).map((d, i) =>
      validateDomain(d, `domains[${i}]`),
    ),
    splitDns: list(config.splitDns, 'splitDns', limits.maxDomains).map((d, i) => validateDomain(d, `splitDns[${i}]`)),
    splitInclude: routes(config.splitInclude, 'splitInclude', limits),
    splitExclude: routes(config.splitExclude, 'splitExclude', limits),
    mtu: config.mtu,
  };
  const extras: NetworkConfigExtras = {
    ...(config.banner !== undefined ? { banner: config.banner } : {}),
    ...(config.idleTimeout !== undefined ? { idleTimeout: config.idleTimeout } : {}),
  };
  return buildNetworkConfig(gateway, net, extras, limits);
}

/** Validates an interface name (IFNAMSIZ 16 incl. NUL; no `/`, whitespace or `.`/`..`). */
export function validateInterfaceName(value: unknown, field = 'interface'): string {
  const name = text(value, field);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/.test(name) || name === '.' || name === '..')
    refuse('not a valid interface name', field, value);
  return name;
}
