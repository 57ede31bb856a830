/**
 * The byte layout of the IP Helper structures the Windows backend passes (64-bit Windows,
 * netioapi.h / ws2ipdef.h), read and written in plain Buffers so the binding needs no koffi union
 * decoding and the layout can be checked on any machine (test/iphlpapi-layout.test.ts compares
 * every offset with koffi's own computation of the same C declarations).
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@tandem/common';

/** AF_INET / AF_INET6 as Windows numbers them. */
export const AF = { 4: 2, 6: 23 } as const;

/** SOCKADDR_INET: a union of SOCKADDR_IN (16 bytes) and SOCKADDR_IN6 (28 bytes). */
export const SOCKADDR_INET_SIZE = 28;

/** MIB_IPFORWARD_ROW2 (104 bytes). */
export const FORWARD_ROW = {
  size: 104,
  luid: 0,
  destination: 12,
  prefixLength: 40,
  nextHop: 44,
  metric: 84,
  protocol: 88,
} as const;

/** MIB_UNICASTIPADDRESS_ROW (80 bytes). */
export const UNICAST_ROW = {
  size: 80,
  address: 0,
  luid: 32,
  prefixOrigin: 44,
  suffixOrigin: 48,
  onLinkPrefixLength: 60,
  dadState: 64,
} as const;

/** MIB_IPINTERFACE_ROW (168 bytes). */
export const INTERFACE_ROW = {
  size: 168,
  family: 0,
  luid: 8,
  sitePrefixLength: 144,
  metric: 148,
  nlMtu: 152,
} as const;

/** MIB_IPPROTO_NETMGMT: a static route added by management software. */
export const PROTO_NETMGMT = 3;
/** IpPrefixOriginManual / IpSuffixOriginManual. */
export const ORIGIN_MANUAL = 1;
/** IpDadStatePreferred: a tunnel address needs no duplicate detection. */
export const DAD_PREFERRED = 4;

/** Writes a SOCKADDR_INET for `address` (family and address bytes; port, flow and scope zero). */
export function writeSockaddr(buf: Buffer, offset: number, family: 4 | 6, address: string): void {
  buf.fill(0, offset, offset + SOCKADDR_INET_SIZE);
  buf.writeUInt16LE(AF[family], offset);
  if (family === 4) {
    const v4 = parseIpv4(address);
    if (v4 === null) throw new RangeError(`not an IPv4 address: ${address}`);
    buf.writeUInt32BE(v4, offset + 4);
  } else {
    const v6 = parseIpv6(address);
    if (v6 === null) throw new RangeError(`not an IPv6 address: ${address}`);
    buf.set(v6, offset + 8);
  }
}

/** Reads a SOCKADDR_INET's family and address (the IPv6 scope id is dropped: the LUID names the link). */
export function readSockaddr(buf: Buffer, offset: number): { family: 4 | 6; address: string } {
  const af = buf.readUInt16LE(offset);
  if (af === AF[4]) return { family: 4, address: formatIpv4(buf.readUInt32BE(offset + 4)) };
  if (af === AF[6]) return { family: 6, address: formatIpv6(buf.subarray(offset + 8, offset + 24)) };
  throw new RangeError(`unexpected address family ${af}`);
}

/** A route as MIB_IPFORWARD_ROW2 carries it, in the fields the backend sets or reads. */
export interface ForwardRoute {
  family: 4 | 6;
  /** The interface's LUID. */
  luid: bigint;
  /** Network address of the destination prefix. */
  destination: string;
  prefix: number;
  /** Next hop; the family's unspecified address (`0.0.0.0`, `::`) for a route on the link. */
  nextHop: string;
  /** Route metric, added to the interface metric. */
  metric: number;
}

/** Fills a row that InitializeIpForwardEntry prepared. */
export function writeForwardRow(row: Buffer, route: ForwardRoute): void {
  row.writeBigUInt64LE(route.luid, FORWARD_ROW.luid);
  writeSockaddr(row, FORWARD_ROW.destination, route.family, route.destination);
  row.writeUInt8(route.prefix, FORWARD_ROW.prefixLength);
  writeSockaddr(row, FORWARD_ROW.nextHop, route.family, route.nextHop);
  row.writeUInt32LE(route.metric, FORWARD_ROW.metric);
  row.writeInt32LE(PROTO_NETMGMT, FORWARD_ROW.protocol);
}

/** Reads the fields of a row (GetBestRoute2's answer). */
export function readForwardRow(row: Buffer): ForwardRoute {
  const dest = readSockaddr(row, FORWARD_ROW.destination);
  return {
    family: dest.family,
    luid: row.readBigUInt64LE(FORWARD_ROW.luid),
    destination: dest.address,
    prefix: row.readUInt8(FORWARD_ROW.prefixLength),
    nextHop: readSockaddr(row, FORWARD_ROW.nextHop).address,
    metric: row.readUInt32LE(FORWARD_ROW.metric),
  };
}

/** An address to put on an interface. */
export interface UnicastEntry {
  luid: bigint;
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** Fills a row that InitializeUnicastIpAddressEntry prepared (lifetimes stay infinite). */
export function writeUnicastRow(row: Buffer, entry: UnicastEntry): void {
  writeSockaddr(row, UNICAST_ROW.address, entry.family, entry.address);
  row.writeBigUInt64LE(entry.luid, UNICAST_ROW.luid);
  row.writeInt32LE(ORIGIN_MANUAL, UNICAST_ROW.prefixOrigin);
  row.writeInt32LE(ORIGIN_MANUAL, UNICAST_ROW.suffixOrigin);
  row.writeUInt8(entry.prefix, UNICAST_ROW.onLinkPrefixLength);
  row.writeInt32LE(DAD_PREFERRED, UNICAST_ROW.dadState);
}

/** Prepares a row for GetIpInterfaceEntry: family and LUID select the interface. */
export function writeInterfaceKey(row: Buffer, luid: bigint, family: 4 | 6): void {
  row.writeUInt16LE(AF[family], INTERFACE_ROW.family);
  row.writeBigUInt64LE(luid, INTERFACE_ROW.luid);
}

/**
 * Sets the MTU in a row GetIpInterfaceEntry filled. SetIpInterfaceEntry refuses an IPv4 row
 * whose SitePrefixLength is not zero (documented), so it is cleared.
 */
export function setInterfaceMtu(row: Buffer, family: 4 | 6, mtu: number): void {
  if (family === 4) row.writeUInt32LE(0, INTERFACE_ROW.sitePrefixLength);
  row.writeUInt32LE(mtu, INTERFACE_ROW.nlMtu);
}

/** Formats the 16 bytes of a GUID (Data1–3 little-endian) as `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`. */
export function formatGuid(bytes: Buffer): string {
  const hex = (b: Buffer): string => b.toString('hex').toUpperCase();
  const le = (start: number, len: number): string => hex(Buffer.from(bytes.subarray(start, start + len)).reverse());
  return `{${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(bytes.subarray(8, 10))}-${hex(bytes.subarray(10, 16))}}`;
}

/** The inverse of {@link formatGuid}. */
export function parseGuid(text: string): Buffer {
  const m = /^\{([0-9A-Fa-f]{8})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{12})\}$/.exec(text);
  if (!m) throw new RangeError(`not a GUID: ${text}`);
  const [, a = '', b = '', c = '', d = '', e = ''] = m;
  const le = (h: string): Buffer => Buffer.from(h, 'hex').reverse();
  return Buffer.concat([le(a), le(b), le(c), Buffer.from(d + e, 'hex')]);
}
