/**
 * The gateway end of the DTLS data channel (docs/protocol.md#dtls-on-the-lab-gateway), the
 * PSK-NEGOTIATE way ocserv does it: a CONNECT that offers `PSK-NEGOTIATE` gets a fresh App-ID,
 * and its key is exported from that CONNECT's own TLS connection, so only the client holding it
 * can finish the handshake. One UDP socket on the listen address serves every tunnel; the
 * ClientHello's session id (the App-ID) says which.
 *
 * Each record is one packet: a type byte (CSTP's codes) and the payload. DATA goes to the data
 * plane like CSTP DATA, DPD-REQ is answered, keepalive and anything else is ignored. While the
 * client uses DTLS, DATA to it goes there too; a DATA frame on CSTP means the client fell back,
 * and DATA follows it there until a DTLS DATA record or a new handshake says it is back.
 */
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { PacketType } from '@tandem/anyconnect';
import { DtlsServer, type DtlsServerPeer, type DtlsServerSession } from '@tandem/dtls';
import type { Events } from './events.js';
import { type HttpRequest } from './http-server.js';

/** The RFC 5705 exporter label of PSK-NEGOTIATE (openconnect and ocserv). */
export const PSK_LABEL = 'EXPORTER-openconnect-psk';
/** Seconds after which a client should make a new DTLS handshake (ocserv's default, two days). */
export const DTLS_REKEY_SECONDS = 172_800;

/** True when the CONNECT offers PSK-NEGOTIATE in `X-DTLS-CipherSuite` or `X-DTLS12-CipherSuite`. */
export function offersPskNegotiate(req: HttpRequest): boolean {
  for (const name of ['x-dtls-ciphersuite', 'x-dtls12-ciphersuite']) {
    for (const value of req.headers.get(name) ?? []) {
      if (value.split(':').some((s) => s.trim() === 'PSK-NEGOTIATE')) return true;
    }
  }
  return false;
}

/** What a tunnel gives its DTLS channel. */
export interface DtlsTunnel {
  /** The tunnel address (names the tunnel in events). */
  address: string;
  /** A DATA packet the client sent over DTLS. */
  onPacket(packet: Buffer): void;
}

/** One tunnel's DTLS channel: its App-ID and key, and the peer once the client is connected. */
export class DtlsLink {
  /** The App-ID the CONNECT answer announces (the ClientHello session id). */
  readonly appId = randomBytes(32);
  private peer: DtlsServerPeer | null = null;
  /** The client sends DATA over DTLS (false before the handshake and after a fallback). */
  private active = false;
  private closed = false;
  readonly session: DtlsServerSession;
  /** DATA packets received and sent over DTLS. */
  readonly packets = { in: 0, out: 0 };

  constructor(
    private readonly key: Buffer,
    /** The gateway's UDP port. */
    private readonly port: number,
    private readonly tunnel: DtlsTunnel,
    private readonly events: Events,
    private readonly forget: (link: DtlsLink) => void,
  ) {
    this.session = {
      key,
      onConnected: (peer) => this.connected(peer),
      onRecord: (record, peer) => this.record(record, peer),
      onClose: (peer, reason) => this.peerClosed(peer, reason),
    };
  }

  /** The CONNECT answer's `X-DTLS-*` headers. */
  headers(dpd: number, keepalive: number): Array<[string, string]> {
    return [
      ['X-DTLS-Port', String(this.port)],
      ['X-DTLS-App-ID', this.appId.toString('hex')],
      ['X-DTLS-CipherSuite', 'PSK-NEGOTIATE'],
      ['X-DTLS-DPD', String(dpd)],
      ['X-DTLS-Keepalive', String(keepalive)],
      ['X-DTLS-Rekey-Method', 'new-tunnel'],
      ['X-DTLS-Rekey-Time', String(DTLS_REKEY_SECONDS)],
    ];
  }

  /**
   * Sends a packet to the client over DTLS when it is using DTLS. True means DTLS took it (a
   * full socket drops it, as IP may); false means the caller sends it over CSTP.
   */
  sendData(packet: Buffer): boolean {
    if (!this.active || !this.peer) return false;
    const record = Buffer.allocUnsafe(packet.length + 1);
    record[0] = PacketType.DATA;
    packet.copy(record, 1);
    if (this.peer.send(record)) this.packets.out++;
    return true;
  }

  /** A DATA frame arrived over CSTP: the client fell back, so DATA to it goes over CSTP. */
  cstpData(): void {
    if (!this.active) return;
    this.active = false;
    this.events.emit({ event: 'dtls-fallback', address: this.tunnel.address });
  }

  /** Ends the channel with the tunnel (close_notify to a connected client); the key is wiped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this);
    this.peer?.close('the tunnel ended');
    this.key.fill(0);
  }

  private connected(peer: DtlsServerPeer): void {
    this.peer = peer;
    this.active = true;
    this.events.emit({
      event: 'dtls-connected',
      address: this.tunnel.address,
      remote: `${peer.remote.address}:${peer.remote.port}`,
      cipher: peer.cipher,
      version: peer.version,
    });
  }

  private record(record: Buffer, peer: DtlsServerPeer): void {
    if (peer !== this.peer || record.length === 0) return;
    switch (record[0]) {
      case PacketType.DATA:
        if (!this.active) {
          this.active = true;
          this.events.emit({ event: 'dtls-resumed', address: this.tunnel.address });
        }
        this.packets.in++;
        this.tunnel.onPacket(record.subarray(1));
        break;
      case PacketType.DPD_REQ:
        this.events.emit({ event: 'dpd', address: this.tunnel.address, transport: 'dtls' });
        record[0] = PacketType.DPD_RESP; // the view is ours: answer with the same bytes
        peer.send(record);
        break;
      default:
        // DPD-RESP, keepalive; and DISCONNECT too: openconnect never sends it over DTLS, and
        // an unauthenticated-looking end of the session belongs to the TLS channel.
        break;
    }
  }

  private peerClosed(peer: DtlsServerPeer, reason: string): void {
    if (peer === this.peer) {
      this.peer = null;
      this.active = false;
      if (!this.closed) this.events.emit({ event: 'dtls-closed', address: this.tunnel.address, reason });
    } else if (!peer.cipher) {
      this.events.emit({ event: 'dtls-handshake-failed', address: this.tunnel.address, reason });
    }
  }
}

/** The gateway's DTLS endpoint and the App-IDs of its tunnels. */
export class DtlsGateway {
  private readonly links = new Map<string, DtlsLink>();
  private readonly server: DtlsServer;

  private constructor(
    host: string,
    port: number,
    private readonly events: Events,
  ) {
    this.server = DtlsServer.listen({
      local: { address: host, port },
      lookup: (id) => this.links.get(id.toString('hex'))?.session ?? null,
      onError: (err) => events.error('dtls', err),
    });
  }

  /** Binds UDP `host`:`port` (the TLS listener's); throws E_DTLS when it cannot. */
  static listen(host: string, port: number, events: Events): DtlsGateway {
    return new DtlsGateway(host, port, events);
  }

  /** The bound UDP port. */
  get port(): number {
    return this.server.address.port;
  }

  /** The endpoint's counters. */
  get stats(): DtlsServer['stats'] {
    return this.server.stats;
  }

  /** A channel for the tunnel CONNECT opened on `socket`, keyed from that TLS connection. */
  open(socket: TLSSocket, tunnel: DtlsTunnel): DtlsLink {
    // No context at all, which RFC 5705 keeps apart from an empty one; Node's types insist on
    // the argument, Node itself does not.
    const key = socket.exportKeyingMaterial(32, PSK_LABEL, undefined as unknown as Buffer);
    const link = new DtlsLink(key, this.port, tunnel, this.events, (l) => this.links.delete(l.appId.toString('hex')));
    this.links.set(link.appId.toString('hex'), link);
    return link;
  }

  /** Closes every channel and the socket. */
  close(): void {
    for (const link of [...this.links.values()]) link.close();
    this.server.close();
  }
}
