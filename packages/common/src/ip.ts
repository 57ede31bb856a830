/**
 * Strict IPv4/IPv6 address and prefix parsing, the only copy in the project: the CONNECT
 * headers a gateway pushes, the routing script's environment, `ip` arguments and the lab
 * gateway's options all go through here. The accepted syntax is deliberately narrow: dotted
 * quads without leading zeros (no octal/hex tricks that inet_aton would accept) and
 * canonical-enough IPv6 that node:net agrees with. Output is always re-formatted from the
 * parsed value, never echoed.
 */
import { isIPv6 } from 'node:net';

declare const parsed: unique symbol;

/**
 * A value only this module's (or a sibling's) parser hands out: a compile-time mark with no
 * run-time cost, so a layer that receives one knows it was checked and need not parse it again.
 */
export type Parsed<T, Tag extends string> = T & { readonly [parsed]: Tag };

/** An IPv4 or IPv6 address in canonical text (dotted quad, or RFC 5952 IPv6). */
export type IpAddress = Parsed<string, 'ip-address'>;

/** A parsed IPv4 or IPv6 prefix (network address with host bits cleared). */
export type IpPrefix = Parsed<PrefixFields, 'ip-prefix'>;

/** The fields of an {@link IpPrefix}. */
export interface PrefixFields {
  family: 4 | 6;
  /** Network address, formatted from the parsed bytes. */
  address: IpAddress;
  /** Prefix length, 0–32 or 0–128. */
  prefix: number;
  /** Dotted netmask (IPv4 only). */
  netmask?: string;
  /** True when the input had host bits set that were cleared (openconnect does the same). */
  hostBitsFixed: boolean;
}

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses a dotted-quad IPv4 address into a 32-bit unsigned number, or null. */
export function parseIpv4(text: string): number | null {
  if (!DOTTED.test(text)) return null;
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) >>> 0;
}

/** Formats a 32-bit unsigned number as a dotted quad. */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 0xff).join('.');
}

/** The 32-bit mask for a prefix length. */
export function ipv4Mask(prefix: number): number {
  // A shift by 32 is a no-op in JS, hence the explicit zero case.
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The dotted netmask of a prefix length (0–32). */
export function prefixToNetmask(prefix: number): string {
  return formatIpv4(ipv4Mask(prefix));
}

/** Prefix length of a contiguous dotted netmask, or null when it is not contiguous. */
export function netmaskToPrefix(netmask: string): number | null {
  const value = parseIpv4(netmask);
  if (value === null) return null;
  let prefix = 0;
  while (prefix < 32 && (value & (0x80000000 >>> prefix)) !== 0) prefix++;
  return ipv4Mask(prefix) === value ? prefix : null;
}

/** Parses an IPv6 address into 16 bytes, or null. Zone ids (`%eth0`) are refused. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.includes('%') || !isIPv6(text)) return null;
  let body = text;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes the last two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (v4 === null) return null;
    body = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : -1));
  const left = parseGroups(halves[0] ?? '');
  const right = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => g < 0)) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Formats 16 bytes as an RFC 5952 IPv6 string (longest zero run compressed). */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Re-formats an IPv4 or IPv6 address, or returns null when it is not one. */
export function normalizeAddress(text: string): { family: 4 | 6; address: IpAddress } | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, address: formatIpv4(v4) as IpAddress };
  const v6 = parseIpv6(text);
  if (v6 !== null) return { family: 6, address: formatIpv6(v6) as IpAddress };
  return null;
}

/** The family of a canonical address: only IPv6 text contains ':'. */
export function ipFamily(address: IpAddress): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * Parses a route the way a gateway pushes it: `a.b.c.d/len`, `a.b.c.d/255.255.0.0`, a bare
 * IPv4 host, `x::/len` or a bare IPv6 host. Returns null for anything else.
 */
export function parsePrefix(text: string): IpPrefix | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? null : text.slice(slash + 1);
  const v4 = parseIpv4(addrText);
  if (v4 !== null) {
    let prefix: number | null = 32;
    if (maskText !== null)
      prefix = /^\d{1,2}$/.test(maskText)
        ? Number(maskText)
        : maskText.includes('.')
          ? netmaskToPrefix(maskText)
          : null;
    if (prefix === null || prefix > 32) return null;
    const mask = ipv4Mask(prefix);
    const net = (v4 & mask) >>> 0;
    return {
      family: 4,
      address: formatIpv4(net),
      prefix,
      netmask: formatIpv4(mask),
      hostBitsFixed: net !== v4,
    } as IpPrefix;
  }
  const v6 = parseIpv6(addrText);
  if (v6 === null) return null;
  const prefix = maskText === null ? 128 : /^\d{1,3}$/.test(maskText) ? Number(maskText) : null;
  if (prefix === null || prefix > 128) return null;
  const net = new Uint8Array(v6);
  let fixed = false;
  for (let bit = prefix; bit < 128; bit++) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((net[byte] ?? 0) & m) {
      fixed = true;
      net[byte] = (net[byte] ?? 0) & ~m;
    }
  }
  return { family: 6, address: formatIpv6(net), prefix, hostBitsFixed: fixed } as IpPrefix;
}

/**
 * Parses an interface address with its prefix length, `addr/len`, keeping the host bits (an
 * IPv6 lease such as `fd00::5/64`). Returns null for anything else.
 */
export function parseAddressWithPrefix(text: string): { family: 4 | 6; address: IpAddress; prefix: number } | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = normalizeAddress(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(len) || Number(len) > (addr.family === 4 ? 32 : 128)) return null;
  return { ...addr, prefix: Number(len) };
}
