/**
 * One client of a {@link DtlsServer}: an SSL object in server mode between two memory BIOs.
 * The endpoint owns the UDP socket and hands each datagram from this client's address to
 * {@link DtlsServerPeer.receive}; whatever OpenSSL writes (handshake flights, alerts, records)
 * is drained after every call and sent back to that address. A memory BIO is a byte stream, so
 * a drain may join several records of one flight into a datagram; PSK flights carry no
 * certificates and stay far below any MTU, and application records are drained one by one.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { errorQueue, Ssl, type OpenSsl, type Ptr } from './openssl.js';
import { forgetPsk, usePsk } from './psk.js';
import type { UdpAddress } from './udp.js';

/** What the endpoint's lookup grants a session id: its key and where its records go. */
export interface DtlsServerSession {
  /** The pre-shared key (PSK-NEGOTIATE: 32 bytes exported from the session's TLS connection). */
  key: Uint8Array;
  /** The handshake completed; an earlier peer of the same session id has just been closed. */
  onConnected?(peer: DtlsServerPeer): void;
  /** One application record, a view that stays valid (its memory is not reused). */
  onRecord(record: Buffer, peer: DtlsServerPeer): void;
  /** The peer is gone: closed, replaced, refused, timed out or failed. */
  onClose?(peer: DtlsServerPeer, reason: string): void;
}

/** Counters a peer adds to (the endpoint's). */
export interface PeerCounters {
  handshakes: number;
  handshakeFailures: number;
  recordsIn: number;
  recordsOut: number;
  sendFailures: number;
  dropped: { discarded: number };
}

/** What a peer needs from its endpoint. */
export interface PeerLink {
  /** Sends one datagram to `to` (an encoded sockaddr); false when it could not be sent. */
  transmit(datagram: Uint8Array, to: Uint8Array): boolean;
  /** Scratch space for draining the write BIO. */
  readonly out: Buffer;
  /** A view to read one record into; {@link commitRecord} keeps the bytes used. */
  recordView(): Buffer;
  commitRecord(length: number): void;
  /** The handshake of `peer` completed (called before the session hears of it). */
  established(peer: DtlsServerPeer): void;
  /** `peer` closed (after it released its SSL). */
  closed(peer: DtlsServerPeer): void;
  /** A caller's callback threw; the peer carries on. */
  callbackError(err: unknown): void;
  readonly counters: PeerCounters;
}

/** What {@link DtlsServerPeer.create} needs. */
export interface PeerSetup {
  ctx: Ptr;
  link: PeerLink;
  remote: UdpAddress;
  /** The encoded sockaddr of `remote`. */
  to: Uint8Array;
  sessionId: Buffer;
  /** The ClientHello random that started this handshake. */
  random: Buffer;
  session: DtlsServerSession;
  linkMtu: number;
  handshakeTimeoutMs: number;
}

/** A client of the server endpoint: a handshake in progress, then an open channel. */
export class DtlsServerPeer {
  private state: 'handshake' | 'open' | 'closed' = 'handshake';
  /** Set once the SSL (and its BIOs) is freed: nothing may touch them after. */
  private freed = false;
  private retransmit: NodeJS.Timeout | undefined;
  private readonly deadline: NodeJS.Timeout;
  private readonly tv = Buffer.alloc(16);
  private readonly link: PeerLink;
  private readonly to: Uint8Array;
  private readonly session: DtlsServerSession;
  /** The client's address. */
  readonly remote: UdpAddress;
  /** The session id of the ClientHello (the App-ID). */
  readonly sessionId: Buffer;
  /** The ClientHello random of this handshake. */
  readonly random: Buffer;
  /** OpenSSL's name of the negotiated suite (set once open). */
  cipher = '';
  /** The protocol version (set once open). */
  version = '';
  /** Why the peer closed (empty while it is not closed). */
  closeReason = '';

  private constructor(
    private readonly o: OpenSsl,
    private readonly ssl: Ptr,
    private readonly rbio: Ptr,
    private readonly wbio: Ptr,
    setup: PeerSetup,
  ) {
    this.link = setup.link;
    this.to = setup.to;
    this.session = setup.session;
    this.remote = setup.remote;
    this.sessionId = setup.sessionId;
    this.random = setup.random;
    this.deadline = setTimeout(
      () => this.close(`no DTLS handshake within ${setup.handshakeTimeoutMs} ms`, false),
      setup.handshakeTimeoutMs,
    );
    this.deadline.unref();
  }

  /** Makes the SSL object and its BIOs, ready for the ClientHello; throws E_DTLS. */
  static create(o: OpenSsl, setup: PeerSetup): DtlsServerPeer {
    const ssl = o.sslNew(setup.ctx);
    if (!ssl) throw new TandemError(ErrorCodes.DTLS, `SSL_new failed: ${errorQueue(o)}`);
    const rbio = o.bioNewMem();
    const wbio = o.bioNewMem();
    if (!rbio || !wbio) {
      if (rbio) o.bioFree(rbio);
      if (wbio) o.bioFree(wbio);
      o.sslFree(ssl);
      throw new TandemError(ErrorCodes.DTLS, `BIO_new failed: ${errorQueue(o)}`);
    }
    o.setBio(ssl, rbio, wbio); // the SSL owns both BIOs from here on
    o.sslCtrl(ssl, Ssl.DTLS_CTRL_SET_LINK_MTU, setup.linkMtu, null);
    usePsk(ssl, setup.session.key, 'server');
    o.setAcceptState(ssl);
    return new DtlsServerPeer(o, ssl, rbio, wbio, setup);
  }

  /** True once the handshake completed and until the peer closes. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Feeds one datagram from the client's address through OpenSSL and sends what it answers. */
  receive(datagram: Uint8Array): void {
    if (this.state === 'closed') return;
    const o = this.o;
    // OpenSSL takes a whole datagram per read; never let two run together.
    if (o.bioCtrl(this.rbio, Ssl.BIO_CTRL_PENDING, 0, null) > 0) o.bioCtrl(this.rbio, Ssl.BIO_CTRL_RESET, 0, null);
    if (datagram.length === 0 || o.bioWrite(this.rbio, datagram, datagram.length) !== datagram.length) {
      this.link.counters.dropped.discarded++;
      return;
    }
    if (this.state === 'handshake') this.step();
    else if (this.readRecords() === 0 && this.state === 'open') this.link.counters.dropped.discarded++;
    this.drain();
  }

  /**
   * Sends one record (`record` whole, normally a type byte and its payload). False when the
   * peer is not open or the datagram could not be sent; a hard failure closes the peer.
   */
  send(record: Uint8Array): boolean {
    if (this.state !== 'open' || record.length === 0) return false;
    const n = this.o.write(this.ssl, record, record.length);
    if (n > 0) {
      this.link.counters.recordsOut++;
      return this.drain();
    }
    const e = this.o.getError(this.ssl, n);
    if (e !== Ssl.ERROR_WANT_READ && e !== Ssl.ERROR_WANT_WRITE) {
      this.close(`DTLS write failed (${e}): ${errorQueue(this.o)}`, false);
    }
    return false;
  }

  /**
   * Closes the peer and frees its SSL; an open channel first says close_notify unless `notify`
   * is false (the client is already gone or has started over). Idempotent.
   */
  close(reason = 'closed by the server', notify = true): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.closeReason = reason;
    clearTimeout(this.retransmit);
    clearTimeout(this.deadline);
    if (!wasOpen) this.link.counters.handshakeFailures++;
    if (wasOpen && notify) {
      this.o.shutdown(this.ssl);
      this.drain();
    }
    this.o.errClear();
    forgetPsk(this.ssl);
    this.freed = true;
    this.o.sslFree(this.ssl);
    this.link.closed(this);
    try {
      this.session.onClose?.(this, reason);
    } catch (err) {
      this.link.callbackError(err);
    }
  }

  /** Advances the handshake; arms OpenSSL's retransmission timer while it waits. */
  private step(): void {
    const r = this.o.doHandshake(this.ssl);
    if (r === 1) return this.opened();
    const e = this.o.getError(this.ssl, r);
    if (e !== Ssl.ERROR_WANT_READ && e !== Ssl.ERROR_WANT_WRITE) {
      this.drain(); // the alert, if OpenSSL wrote one
      return this.close(`DTLS handshake refused: ${errorQueue(this.o) || `SSL error ${e}`}`, false);
    }
    clearTimeout(this.retransmit);
    // DTLSv1_get_timeout: 1 and a timeval when a retransmission is due.
    if (this.o.sslCtrl(this.ssl, Ssl.DTLS_CTRL_GET_TIMEOUT, 0, this.tv) === 1) {
      const ms = Number(this.tv.readBigInt64LE(0)) * 1000 + Math.ceil(Number(this.tv.readBigInt64LE(8)) / 1000);
      this.retransmit = setTimeout(() => {
        if (this.state !== 'handshake') return;
        this.o.sslCtrl(this.ssl, Ssl.DTLS_CTRL_HANDLE_TIMEOUT, 0, null);
        this.step();
        this.drain();
      }, ms);
      this.retransmit.unref();
    }
  }

  private opened(): void {
    this.state = 'open';
    clearTimeout(this.retransmit);
    clearTimeout(this.deadline);
    forgetPsk(this.ssl);
    const cipher = this.o.currentCipher(this.ssl);
    this.cipher = cipher ? this.o.cipherName(cipher) : 'unknown';
    this.version = this.o.version(this.ssl);
    // The last flight leaves before anything the caller sends on connect.
    this.drain();
    this.link.counters.handshakes++;
    this.link.established(this);
    try {
      this.session.onConnected?.(this);
    } catch (err) {
      this.link.callbackError(err);
    }
    if (this.state === 'open') this.readRecords();
  }

  /** Reads every record the datagram held; returns how many. */
  private readRecords(): number {
    let count = 0;
    while (this.state === 'open') {
      const view = this.link.recordView();
      const n = this.o.read(this.ssl, view, view.length);
      if (n > 0) {
        this.link.commitRecord(n);
        this.link.counters.recordsIn++;
        count++;
        try {
          this.session.onRecord(view.subarray(0, n), this);
        } catch (err) {
          this.link.callbackError(err);
        }
        continue;
      }
      const e = this.o.getError(this.ssl, n);
      if (e === Ssl.ERROR_WANT_READ || e === Ssl.ERROR_WANT_WRITE) break;
      if (e === Ssl.ERROR_ZERO_RETURN) this.close('the client closed the channel', false);
      else this.close(`DTLS read failed (${e}): ${errorQueue(this.o) || 'unknown error'}`, false);
    }
    return count;
  }

  /** Sends what OpenSSL wrote; false when a datagram could not be sent. */
  private drain(): boolean {
    const { out } = this.link;
    let ok = true;
    if (this.freed) return false;
    for (;;) {
      const pending = this.o.bioCtrl(this.wbio, Ssl.BIO_CTRL_PENDING, 0, null);
      if (pending <= 0) return ok;
      const n = this.o.bioRead(this.wbio, out, Math.min(pending, out.length));
      if (n <= 0) return ok;
      if (!this.link.transmit(out.subarray(0, n), this.to)) {
        this.link.counters.sendFailures++;
        ok = false;
      }
    }
  }
}
