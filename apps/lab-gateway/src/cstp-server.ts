/**
 * The gateway end of CSTP (docs/protocol.md#connect, #cstp-framing): `CONNECT /CSCOSSLC/tunnel` with the session cookie,
 * the `200 CONNECTED` header block, then framed packets on the TLS stream. Control frames are
 * answered here; DATA goes to the {@link DataPlane}. A 0xb0 DISCONNECT is a logout that ends
 * the session (the cookie stops working), an empty DISCONNECT keeps it for a reconnect. A CONNECT
 * that offers PSK-NEGOTIATE also gets a DTLS channel (dtls-channel.ts) for its DATA.
 */
import type { TLSSocket } from 'node:tls';
import { DISCONNECT_REASON_LOGOUT, FrameDecoder, PacketType } from '@tandem/anyconnect';
import { prefixToNetmask } from '@tandem/common';
import type { DataPlane } from './data-plane.js';
import { offersPskNegotiate, type DtlsGateway, type DtlsLink } from './dtls-channel.js';
import type { Events } from './events.js';
import { FrameWriter } from './frame-writer.js';
import { formatResponse, header, type HttpRequest } from './http-server.js';
import { parseCidr, type GatewayOptions } from './options.js';
import type { AddressPool, Session, SessionStore } from './sessions.js';

/** The only tunnel path, as on ocserv and the ASA. */
export const TUNNEL_PATH = '/CSCOSSLC/tunnel';

/** Dependencies of {@link CstpServer}. */
export interface CstpDeps {
  options: Pick<
    GatewayOptions,
    'dpd' | 'keepalive' | 'mtu' | 'dns' | 'defaultDomain' | 'splitInclude' | 'banner' | 'idleTimeout' | 'sessionTimeout'
  >;
  sessions: SessionStore;
  pool: AddressPool | null;
  dataPlane: DataPlane | null;
  events: Events;
}

/** Extracts the `webvpn` cookie value from a Cookie header, or null. */
export function webvpnCookie(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const m = /^\s*webvpn=([^\s;]+)\s*$/.exec(part);
    if (m) return m[1] as string;
  }
  return null;
}

/** Accepts tunnels and runs their frame loops. */
export class CstpServer {
  private readonly live = new Set<TLSSocket>();
  private dtls: DtlsGateway | null = null;

  constructor(private readonly deps: CstpDeps) {}

  /** Offers DTLS through `dtls` to the tunnels opened from now on (null: CSTP only). */
  useDtls(dtls: DtlsGateway | null): void {
    this.dtls = dtls;
  }

  /** Number of running tunnels. */
  get tunnels(): number {
    return this.live.size;
  }

  /** Handles a CONNECT; owns the socket from here on. `rest` holds bytes read past the request. */
  accept(socket: TLSSocket, req: HttpRequest, rest: Buffer, remote: string): void {
    const refuse = (status: number, reason: string, xReason?: string): void => {
      const headers: Array<[string, string]> = xReason ? [['X-Reason', xReason]] : [];
      this.deps.events.emit({ event: 'tunnel-refused', status, reason: xReason ?? reason, remote });
      socket.end(formatResponse(status, reason, headers));
    };
    if (req.target !== TUNNEL_PATH) return refuse(404, 'Not Found');
    const cookie = webvpnCookie(header(req, 'cookie'));
    if (!cookie) return refuse(503, 'Service Unavailable');
    const session = this.deps.sessions.get(cookie);
    if (!session) return refuse(401, 'Cookie is not acceptable');
    if (session.active) return refuse(503, 'Service Unavailable', 'Session already has a tunnel');
    const { pool, dataPlane } = this.deps;
    if (!pool || !dataPlane) return refuse(503, 'Service Unavailable', 'Server configuration error');
    const address = session.address ?? pool.lease();
    if (!address) return refuse(503, 'Service Unavailable', 'No free address in the pool');
    session.address = address;
    session.active = true;
    const dtls = this.openDtls(socket, req, address, dataPlane);
    const headers = this.connectHeaders(address, pool);
    if (dtls) headers.push(...dtls.headers(this.deps.options.dpd, this.deps.options.keepalive));
    // Frames start only after the header block is written, so it never shares a TLS record
    // with the first frame; the socket stays paused meanwhile so no client bytes are missed.
    socket.pause();
    socket.write(formatResponse(200, 'CONNECTED', headers, '', true), (err) => {
      if (!err && !socket.destroyed) return this.run(socket, session, address, rest, dtls);
      // The client vanished before the tunnel started: the session stays usable for a retry.
      session.active = false;
      dtls?.close();
      socket.destroy();
    });
  }

  /** A DTLS channel when the gateway has DTLS and the client offers PSK-NEGOTIATE. */
  private openDtls(socket: TLSSocket, req: HttpRequest, address: string, dataPlane: DataPlane): DtlsLink | null {
    if (!this.dtls || !offersPskNegotiate(req)) return null;
    try {
      return this.dtls.open(socket, { address, onPacket: (packet) => dataPlane.fromClient(address, packet) });
    } catch (err) {
      // No keying material, no DTLS: the tunnel runs on CSTP alone.
      this.deps.events.error('dtls', err);
      return null;
    }
  }

  private connectHeaders(address: string, pool: AddressPool): Array<[string, string]> {
    const o = this.deps.options;
    const h: Array<[string, string]> = [
      ['X-CSTP-Version', '1'],
      ['X-CSTP-Server-Name', 'tandem-lab-gateway'],
      ['X-CSTP-Address', address],
      ['X-CSTP-Netmask', prefixToNetmask(pool.prefix)],
    ];
    for (const dns of o.dns) h.push(['X-CSTP-DNS', dns]);
    if (o.defaultDomain) h.push(['X-CSTP-Default-Domain', o.defaultDomain]);
    for (const cidr of o.splitInclude) {
      const { network, prefix } = parseCidr(cidr);
      h.push(['X-CSTP-Split-Include', `${network}/${prefixToNetmask(prefix)}`]);
    }
    h.push(
      ['X-CSTP-DPD', String(o.dpd)],
      ['X-CSTP-Keepalive', String(o.keepalive)],
      ['X-CSTP-Idle-Timeout', String(o.idleTimeout)],
      ['X-CSTP-Session-Timeout', String(o.sessionTimeout)],
      ['X-CSTP-Rekey-Method', 'none'],
      ['X-CSTP-Base-MTU', '1500'],
      ['X-CSTP-MTU', String(o.mtu)],
    );
    if (o.banner) h.push(['X-CSTP-Banner', o.banner]);
    return h;
  }

  private run(socket: TLSSocket, session: Session, address: string, rest: Buffer, dtls: DtlsLink | null): void {
    const { events, dataPlane, sessions, pool } = this.deps;
    const writer = new FrameWriter(socket);
    const decoder = new FrameDecoder();
    this.live.add(socket);
    dataPlane?.attach(address, (packet) => {
      if (!dtls?.sendData(packet)) writer.send(PacketType.DATA, packet);
    });
    events.emit({
      event: 'tunnel-up',
      username: session.username,
      address,
      remote: socket.remoteAddress ?? null,
      mtu: this.deps.options.mtu,
      dtls: dtls !== null,
    });
    let lastRx = Date.now();
    let done = false;
    const finish = (reason: string, logout: boolean): void => {
      if (done) return;
      done = true;
      clearInterval(dpdTimer);
      this.live.delete(socket);
      dtls?.close();
      dataPlane?.detach(address);
      session.active = false;
      if (logout) {
        sessions.remove(session.cookie);
        pool?.release(address);
      }
      events.emit({
        event: 'disconnect',
        username: session.username,
        address,
        reason,
        logout,
        dropped: writer.dropped,
        dtlsPackets: dtls ? dtls.packets : null,
      });
      writer.close();
      socket.end();
    };
    // Server-side dead-peer detection: probe after 2×DPD of silence, give up after 3×DPD (ocserv's rule).
    const dpdMs = Math.max(1, this.deps.options.dpd) * 1000;
    const dpdTimer = setInterval(
      () => {
        const silent = Date.now() - lastRx;
        if (silent > 3 * dpdMs) finish('DPD timeout', false);
        else if (silent > 2 * dpdMs) writer.send(PacketType.DPD_REQ);
      },
      Math.min(dpdMs, 30_000),
    );
    dpdTimer.unref();

    const onData = (chunk: Buffer): void => {
      if (done) return;
      lastRx = Date.now();
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        events.error('cstp', err);
        finish(`protocol error: ${err instanceof Error ? err.message : String(err)}`, false);
        return;
      }
      for (const f of frames) {
        switch (f.type) {
          case PacketType.DATA:
            dtls?.cstpData();
            dataPlane?.fromClient(address, Buffer.from(f.payload));
            break;
          case PacketType.DPD_REQ:
            events.emit({ event: 'dpd', address });
            writer.send(PacketType.DPD_RESP, Buffer.from(f.payload));
            break;
          case PacketType.DPD_RESP:
          case PacketType.KEEPALIVE:
            break;
          case PacketType.DISCONNECT: {
            const logout = f.payload.length > 0 && f.payload[0] === DISCONNECT_REASON_LOGOUT;
            const text = f.payload
              .subarray(logout ? 1 : 0)
              .toString('latin1')
              .replace(/[^\x20-\x7e]/g, '?');
            finish(text || (logout ? 'logout' : 'client disconnect'), logout);
            return;
          }
          default:
            events.emit({ event: 'error', where: 'cstp', message: `unexpected packet type ${f.type}` });
            finish('unexpected packet type', false);
            return;
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', (err) => {
      events.error('cstp-socket', err);
      finish('connection error', false);
    });
    socket.on('close', () => finish('connection closed', false));
    socket.resume();
    if (rest.length > 0) onData(rest);
  }

  /** Sends an empty DISCONNECT on every tunnel (gateway shutdown) and closes them. */
  async closeAll(): Promise<void> {
    for (const s of this.live) s.end(Buffer.from([0x53, 0x54, 0x46, 0x01, 0, 0, PacketType.DISCONNECT, 0]));
  }
}
