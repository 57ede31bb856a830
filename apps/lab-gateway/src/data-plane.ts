/**
 * Where tunnel DATA packets go. Two implementations: a TUN device in the gateway's network
 * namespace (tun-bridge.ts, root only) and an in-process ICMP echo responder (this file) so
 * tests and the non-root demo can exchange packets without any privileges.
 */

/** Sends one IP packet to a client's tunnel. */
export type PacketSink = (packet: Buffer) => void;

/** The gateway side of the data path, keyed by the client's tunnel address. */
export interface DataPlane {
  /** Starts routing packets for `address` to `sink`. */
  attach(address: string, sink: PacketSink): void;
  /** Stops routing packets for `address`. */
  detach(address: string): void;
  /** A packet the client with `address` sent into the tunnel. */
  fromClient(address: string, packet: Buffer): void;
  /** Releases OS resources. */
  close(): void;
}

/** IPv4 header checksum / ICMP checksum (RFC 1071). */
export function inetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += (buf[buf.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Destination address of an IPv4 packet, or null for anything else. */
export function ipv4Destination(packet: Buffer): string | null {
  if (packet.length < 20 || (packet[0] as number) >> 4 !== 4) return null;
  return `${packet[16]}.${packet[17]}.${packet[18]}.${packet[19]}`;
}

/**
 * The echo reply for an IPv4 ICMP echo request (source and destination swapped, type 0,
 * checksums recomputed), or null when the packet is not a well-formed echo request.
 */
export function echoReply(packet: Buffer): Buffer | null {
  if (packet.length < 28 || (packet[0] as number) >> 4 !== 4) return null;
  const ihl = ((packet[0] as number) & 0x0f) * 4;
  const total = packet.readUInt16BE(2);
  if (ihl < 20 || total > packet.length || total < ihl + 8 || packet[9] !== 1) return null;
  if (packet[ihl] !== 8 || packet[ihl + 1] !== 0) return null;
  const reply = Buffer.from(packet.subarray(0, total));
  packet.copy(reply, 12, 16, 20);
  packet.copy(reply, 16, 12, 16);
  reply[8] = 64; // fresh TTL
  reply.writeUInt16BE(0, 10);
  reply.writeUInt16BE(inetChecksum(reply.subarray(0, ihl)), 10);
  reply[ihl] = 0;
  reply.writeUInt16BE(0, ihl + 2);
  reply.writeUInt16BE(inetChecksum(reply.subarray(ihl)), ihl + 2);
  return reply;
}

/** Answers every ICMP echo request in-process; other packets are counted and dropped. */
export class EchoResponder implements DataPlane {
  private readonly sinks = new Map<string, PacketSink>();
  /** Packets that were not echo requests. */
  ignored = 0;

  /** {@inheritDoc DataPlane.attach} */
  attach(address: string, sink: PacketSink): void {
    this.sinks.set(address, sink);
  }

  /** {@inheritDoc DataPlane.detach} */
  detach(address: string): void {
    this.sinks.delete(address);
  }

  /** {@inheritDoc DataPlane.fromClient} */
  fromClient(address: string, packet: Buffer): void {
    const reply = echoReply(packet);
    if (!reply) {
      this.ignored++;
      return;
    }
    this.sinks.get(address)?.(reply);
  }

  /** {@inheritDoc DataPlane.close} */
  close(): void {
    this.sinks.clear();
  }
}
