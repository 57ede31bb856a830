/**
 * A DTLS 1.2 PSK server endpoint for the lab gateway: one UDP socket, many clients. Datagrams
 * are demultiplexed by the sender's address; a sender without state must open with a ClientHello
 * whose session id the caller's lookup knows (PSK-NEGOTIATE puts the App-ID there), and only
 * then is an SSL object made for it. Everything else from unknown senders is dropped and counted,
 * so hostile input costs a parse and never allocates OpenSSL state.
 *
 * A new ClientHello for a known session id (client reconnect, rekey, NAT rebinding) starts a
 * second peer beside the first; the first is closed only when the second's handshake completes,
 * so a forged ClientHello that cannot finish the handshake cannot cut a working channel.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { FdWatch, Readiness } from '@tandem/fdpoll';
import { parseClientHello, looksLikeHandshake } from './client-hello.js';
import { errorQueue, openssl, Ssl, type OpenSsl, type Ptr } from './openssl.js';
import { DtlsServerPeer, type DtlsServerSession, type PeerLink } from './server-peer.js';
import { bindUdp, closeUdp, parseSockaddr, recvFrom, sendTo, type UdpAddress } from './udp.js';

export { DtlsServerPeer, type DtlsServerSession } from './server-peer.js';

/** The PSK suites with AEAD record protection, strongest first (the server's preference wins). */
export const DEFAULT_SERVER_CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305';

/** Finds the session a ClientHello's session id names, or null to drop the datagram. */
export type DtlsSessionLookup = (sessionId: Buffer, from: UdpAddress) => DtlsServerSession | null;

/** What {@link DtlsServer.listen} needs. */
export interface DtlsServerOptions {
  /** Address and port to bind (port 0 picks one). */
  local: UdpAddress;
  lookup: DtlsSessionLookup;
  /** OpenSSL cipher list (default {@link DEFAULT_SERVER_CIPHERS}). */
  ciphers?: string;
  /** The path MTU records must fit (default 1500). */
  linkMtu?: number;
  /** A handshake not complete after this long is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Handshakes in progress at once; more ClientHellos are dropped as `busy` (default 256). */
  maxHandshakes?: number;
  /** Hears of errors that do not stop the endpoint: a callback that threw, a socket error. */
  onError?: (err: TandemError) => void;
}

/** The endpoint's counters. `dropped` counts received datagrams that were dropped, by reason. */
export interface DtlsServerStats {
  datagrams: number;
  /** Handshakes completed. */
  handshakes: number;
  /** Handshakes that never completed: refused, timed out, replaced or cut off by close. */
  handshakeFailures: number;
  recordsIn: number;
  recordsOut: number;
  /** Datagrams that could not be sent (socket full, or an error from the network). */
  sendFailures: number;
  dropped: {
    /** From an unknown sender and not a handshake record. */
    notClientHello: number;
    /** A handshake record from an unknown sender that is not a well-formed ClientHello. */
    malformed: number;
    /** A ClientHello whose session id the lookup did not know. */
    unknownSession: number;
    /** A ClientHello while {@link DtlsServerOptions.maxHandshakes} handshakes were running. */
    busy: number;
    /** To a known peer but discarded by OpenSSL: replayed, forged, garbage or stray. */
    discarded: number;
  };
}

const MAX_DATAGRAM = 65_536;
const RECORD_POOL = 256 * 1024;
const MAX_RECORD = 16 * 1024 + 64;
/** Datagrams read per readiness event before yielding to the event loop. */
const READ_BUDGET = 64;

/** A listening DTLS server endpoint. */
export class DtlsServer {
  /** Counters since {@link listen}. */
  readonly stats: DtlsServerStats = {
    datagrams: 0,
    handshakes: 0,
    handshakeFailures: 0,
    recordsIn: 0,
    recordsOut: 0,
    sendFailures: 0,
    dropped: { notClientHello: 0, malformed: 0, unknownSession: 0, busy: 0, discarded: 0 },
  };
  /** Peers by the sender's encoded sockaddr. */
  private readonly byAddress = new Map<string, DtlsServerPeer>();
  /** Open peers by session id (hex). */
  private readonly bySession = new Map<string, DtlsServerPeer>();
  private readonly addressKeys = new WeakMap<DtlsServerPeer, string>();
  private readonly inbox = Buffer.allocUnsafe(MAX_DATAGRAM);
  private readonly from = Buffer.alloc(28);
  private readonly link: PeerLink;
  private pool = Buffer.allocUnsafe(RECORD_POOL);
  private poolOffset = 0;
  /** Peers whose handshake is in progress. */
  private readonly handshaking = new Set<DtlsServerPeer>();
  private closed = false;
  private readonly watch: FdWatch;

  private constructor(
    private readonly o: OpenSsl,
    private readonly ctx: Ptr,
    private readonly fd: number,
    /** The bound address (with the port picked when 0 was asked for). */
    readonly address: UdpAddress,
    private readonly opts: DtlsServerOptions,
  ) {
    this.link = {
      out: Buffer.allocUnsafe(MAX_DATAGRAM),
      counters: this.stats,
      transmit: (datagram, to) => this.transmit(datagram, to),
      recordView: () => {
        if (RECORD_POOL - this.poolOffset < MAX_RECORD) {
          // Records handed out keep the old pool alive; a fresh one is cheaper than copying.
          this.pool = Buffer.allocUnsafe(RECORD_POOL);
          this.poolOffset = 0;
        }
        return this.pool.subarray(this.poolOffset, this.poolOffset + MAX_RECORD);
      },
      commitRecord: (length) => {
        this.poolOffset += (length + 7) & ~7;
      },
      established: (peer) => this.established(peer),
      closed: (peer) => this.forget(peer),
      callbackError: (err) => this.report(err),
    };
    this.watch = new FdWatch(fd, (_events, err) => (err ? this.report(err) : this.onReadable()));
    this.watch.watch(Readiness.READABLE);
  }

  /** Binds the socket and starts serving; throws E_DTLS (nothing stays open). */
  static listen(opts: DtlsServerOptions): DtlsServer {
    const o = openssl();
    o.errClear();
    const ciphers = opts.ciphers ?? DEFAULT_SERVER_CIPHERS;
    const ctx = o.ctxNew(o.dtlsServerMethod());
    if (!ctx) throw new TandemError(ErrorCodes.DTLS, `SSL_CTX_new failed: ${errorQueue(o)}`);
    let fd = -1;
    try {
      o.ctxCtrl(ctx, Ssl.CTRL_SET_MIN_PROTO_VERSION, Ssl.DTLS1_2_VERSION, null);
      o.ctxCtrl(ctx, Ssl.CTRL_SET_MAX_PROTO_VERSION, Ssl.DTLS1_2_VERSION, null);
      o.ctxCtrl(ctx, Ssl.CTRL_SET_SESS_CACHE_MODE, Ssl.SSL_SESS_CACHE_OFF, null);
      // No path MTU from a memory BIO (the link MTU is set per peer), no tickets, no
      // renegotiation (a rekey is a new handshake), and our order of suites.
      o.ctxSetOptions(
        ctx,
        Ssl.OP_NO_QUERY_MTU | Ssl.OP_NO_TICKET | Ssl.OP_NO_RENEGOTIATION | Ssl.OP_CIPHER_SERVER_PREFERENCE,
      );
      if (o.ctxSetCipherList(ctx, ciphers) !== 1) {
        throw new TandemError(ErrorCodes.DTLS, `no usable cipher in "${ciphers}": ${errorQueue(o)}`);
      }
      const bound = bindUdp(opts.local);
      fd = bound.fd;
      return new DtlsServer(o, ctx, fd, { address: opts.local.address, port: bound.port }, opts);
    } catch (err) {
      if (fd >= 0) closeUdp(fd);
      o.ctxFree(ctx);
      throw err instanceof TandemError ? err : new TandemError(ErrorCodes.DTLS, String(err), { cause: err });
    }
  }

  /** Peers known now (handshaking or open). */
  get peers(): number {
    return this.byAddress.size;
  }

  /** The open peer of a session id, if any. */
  peerOf(sessionId: Uint8Array): DtlsServerPeer | undefined {
    return this.bySession.get(Buffer.from(sessionId).toString('hex'));
  }

  /** Closes every peer (open ones say close_notify), then the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const peer of [...this.byAddress.values()]) peer.close('the server is closing');
    this.closed = true;
    this.watch.close();
    closeUdp(this.fd);
    this.o.ctxFree(this.ctx);
  }

  private onReadable(): void {
    for (let i = 0; i < READ_BUDGET && !this.closed; i++) {
      let got;
      try {
        got = recvFrom(this.fd, this.inbox, this.from);
      } catch (err) {
        this.report(err);
        return;
      }
      if (!got) return;
      this.stats.datagrams++;
      this.dispatch(this.inbox.subarray(0, got.length), this.from.toString('latin1', 0, got.fromLen));
    }
  }

  private dispatch(datagram: Buffer, key: string): void {
    const known = this.byAddress.get(key);
    // Only a handshake record can start anything, and only a new random means a new handshake
    // (a retransmitted ClientHello repeats the random and goes to the peer that has it).
    const hello = looksLikeHandshake(datagram) ? parseClientHello(datagram) : null;
    if (known && (!hello || hello.random.equals(known.random))) return known.receive(datagram);
    const drop = this.stats.dropped;
    if (!hello) {
      if (looksLikeHandshake(datagram)) drop.malformed++;
      else drop.notClientHello++;
      return;
    }
    const to = Buffer.from(key, 'latin1');
    const remote = parseSockaddr(to);
    let session: DtlsServerSession | null = null;
    try {
      session = this.opts.lookup(hello.sessionId, remote);
    } catch (err) {
      this.report(err);
    }
    if (!session) {
      drop.unknownSession++;
      return;
    }
    // The client at this address started over: its previous state is useless to it.
    known?.close('the client started a new handshake', false);
    if (this.handshaking.size >= (this.opts.maxHandshakes ?? 256)) {
      drop.busy++;
      return;
    }
    let peer: DtlsServerPeer;
    try {
      peer = DtlsServerPeer.create(this.o, {
        ctx: this.ctx,
        link: this.link,
        remote,
        to,
        sessionId: hello.sessionId,
        random: hello.random,
        session,
        linkMtu: this.opts.linkMtu ?? 1500,
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000,
      });
    } catch (err) {
      this.report(err);
      return;
    }
    this.byAddress.set(key, peer);
    this.addressKeys.set(peer, key);
    this.handshaking.add(peer);
    peer.receive(datagram);
  }

  private established(peer: DtlsServerPeer): void {
    this.handshaking.delete(peer);
    const id = peer.sessionId.toString('hex');
    const previous = this.bySession.get(id);
    this.bySession.set(id, peer);
    previous?.close('replaced by a new handshake of the same session');
  }

  private forget(peer: DtlsServerPeer): void {
    this.handshaking.delete(peer);
    const key = this.addressKeys.get(peer);
    if (key !== undefined && this.byAddress.get(key) === peer) this.byAddress.delete(key);
    const id = peer.sessionId.toString('hex');
    if (this.bySession.get(id) === peer) this.bySession.delete(id);
  }

  private transmit(datagram: Uint8Array, to: Uint8Array): boolean {
    if (this.closed) return false;
    try {
      return sendTo(this.fd, datagram, to);
    } catch {
      // An ICMP error or a firewall refusal is the network's answer, not the server's failure.
      return false;
    }
  }

  private report(err: unknown): void {
    const e = err instanceof TandemError ? err : new TandemError(ErrorCodes.DTLS, String(err), { cause: err });
    try {
      this.opts.onError?.(e);
    } catch {
      // The reporter failing must not take the endpoint down.
    }
  }
}
