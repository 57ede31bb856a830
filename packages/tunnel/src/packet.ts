/**
 * Minimal IPv4/UDP packet building and parsing, for writing synthetic traffic into a TUN
 * (tests, benchmarks, diagnostics). Not a general IP stack: no options, no fragments.
 */
import { formatIpv4, parseIpv4 } from '@tandem/common';

/** One's-complement sum of 16-bit words (RFC 1071), not yet folded or inverted. */
function sum16(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += ((buf[i] as number) << 8) | (buf[i + 1] as number);
  if ((end - start) & 1) sum += (buf[end - 1] as number) << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Internet checksum of a byte range. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return fold(sum16(buf, start, end));
}

/** Fields of a UDP-in-IPv4 packet. */
export interface Udp4 {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Builds an IPv4/UDP packet with correct header and UDP checksums. */
export function buildUdp4(p: Udp4, ttl = 64, id = 0): Buffer {
  const src = parseIpv4(p.src);
  const dst = parseIpv4(p.dst);
  if (src === null || dst === null) throw new RangeError('bad IPv4 address');
  const udpLen = 8 + p.payload.length;
  const buf = Buffer.alloc(20 + udpLen);
  buf[0] = 0x45;
  buf.writeUInt16BE(20 + udpLen, 2);
  buf.writeUInt16BE(id & 0xffff, 4);
  buf.writeUInt16BE(0x4000, 6); // DF
  buf[8] = ttl;
  buf[9] = 17;
  buf.writeUInt32BE(src, 12);
  buf.writeUInt32BE(dst, 16);
  buf.writeUInt16BE(internetChecksum(buf, 0, 20), 10);
  buf.writeUInt16BE(p.srcPort, 20);
  buf.writeUInt16BE(p.dstPort, 22);
  buf.writeUInt16BE(udpLen, 24);
  buf.set(p.payload, 28);
  // Pseudo-header: src, dst, zero+protocol, UDP length.
  const pseudo = sum16(buf, 12, 20, 17 + udpLen);
  const c = fold(sum16(buf, 20, 20 + udpLen, pseudo));
  buf.writeUInt16BE(c === 0 ? 0xffff : c, 26);
  return buf;
}

/** Parses an IPv4/UDP packet (checksums verified); null for anything else. */
export function parseUdp4(buf: Uint8Array): Udp4 | null {
  if (buf.length < 28 || (buf[0] as number) >> 4 !== 4 || buf[9] !== 17) return null;
  const ihl = ((buf[0] as number) & 0x0f) * 4;
  if (ihl < 20 || buf.length < ihl + 8 || internetChecksum(buf, 0, ihl) !== 0) return null;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const total = view.readUInt16BE(2);
  const udpLen = view.readUInt16BE(ihl + 4);
  if (total > buf.length || ihl + udpLen > total || udpLen < 8) return null;
  if (view.readUInt16BE(ihl + 6) !== 0) {
    const pseudo = sum16(buf, 12, 20, 17 + udpLen);
    if (fold(sum16(buf, ihl, ihl + udpLen, pseudo)) !== 0) return null;
  }
  return {
    src: formatIpv4(view.readUInt32BE(12)),
    dst: formatIpv4(view.readUInt32BE(16)),
    srcPort: view.readUInt16BE(ihl),
    dstPort: view.readUInt16BE(ihl + 2),
    payload: view.subarray(ihl + 8, ihl + udpLen),
  };
}
