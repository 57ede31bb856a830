/**
 * The far end of a TUN for the platform suites: answers an ICMPv4 echo request read from the
 * device with the echo reply the OS's `ping` waits for. Pure, so it is tested everywhere
 * (packets.test.ts) and only the device around it needs Windows or macOS.
 */
import { internetChecksum } from '@tandem/tunnel';

/** What an IPv4 ICMP echo request carries that the suites check. */
export interface EchoRequest {
  src: string;
  dst: string;
}

/** The request's addresses when `packet` is an IPv4 ICMP echo request, else null. */
export function echoRequest(packet: Uint8Array): EchoRequest | null {
  if (packet.length < 28 || packet[0]! >> 4 !== 4 || packet[9] !== 1) return null;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (packet.length < ihl + 8 || packet[ihl] !== 8) return null;
  return { src: packet.subarray(12, 16).join('.'), dst: packet.subarray(16, 20).join('.') };
}

/** The echo reply to an IPv4 echo request: addresses swapped, type 0, both checksums recomputed. */
export function echoReply(request: Uint8Array): Buffer {
  if (!echoRequest(request)) throw new Error('not an IPv4 ICMP echo request');
  const reply = Buffer.from(request);
  const ihl = (reply[0]! & 0x0f) * 4;
  reply.set(request.subarray(16, 20), 12);
  reply.set(request.subarray(12, 16), 16);
  reply[8] = 64;
  reply.writeUInt16BE(0, 10);
  reply.writeUInt16BE(internetChecksum(reply, 0, ihl), 10);
  reply[ihl] = 0;
  reply.writeUInt16BE(0, ihl + 2);
  reply.writeUInt16BE(internetChecksum(reply, ihl, reply.length), ihl + 2);
  return reply;
}
