/**
 * A DTLS 1.2 client over a connected UDP socket: OpenSSL does the handshake, the records and
 * their cryptography, on the socket's fd through its datagram BIO; JavaScript only says when
 * (fd readiness from @tandem/fdpoll, OpenSSL's retransmission timer) and moves whole packets.
 *
 * Two ways in, both of AnyConnect gateways:
 *  - `psk`: a full handshake with a pre-shared key (ocserv's PSK-NEGOTIATE). The ClientHello's
 *    session id carries the gateway's App-ID so its main process can route the datagram.
 *  - `resume`: Cisco's legacy DTLS, the "resumption" of a session that never existed, with the
 *    master secret sent in the CONNECT request and the gateway's session id. A gateway that
 *    answers with a full handshake instead is refused (a possible man in the middle).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { FdWatch, Readiness } from '@tandem/fdpoll';
import { errorQueue, openssl, Ssl, type OpenSsl, type Ptr } from './openssl.js';
import { handshake, presetSession, type DtlsKeying } from './handshake.js';

export type { DtlsKeying } from './handshake.js';
import { forgetPsk, usePsk } from './psk.js';
import { BATCH_BUFFER, BATCH_MAX, batchState, pumpAddon, pumpResult, PumpStatus, RX_BATCH_BUFFER } from './pump.js';
import { closeUdp, connectUdp, sockaddr, type UdpAddress } from './udp.js';

/** What {@link DtlsClient.connect} needs. */
export interface DtlsClientOptions {
  peer: UdpAddress;
  keying: DtlsKeying;
  /** OpenSSL cipher list offered (e.g. "PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256"). */
  ciphers: string;
  /** The path MTU the records must fit (IP packet size); the data MTU is derived from it. */
  linkMtu: number;
  /** Gives up after this long (openconnect: 12 s). */
  handshakeTimeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Called with each application record: its first `length` bytes of `buffer`, a view into a pool
 * that stays valid (not reused). The length is separate so no second view is made per record.
 */
export type RecordHandler = (buffer: Buffer, length: number) => void;

const POOL = 256 * 1024;
const MAX_RECORD = 16 * 1024 + 64;
/** Records read per readiness event before yielding to the event loop. */
const READ_BUDGET = 64;

/** An established DTLS channel. */
export class DtlsClient {
  private readonly o: OpenSsl = openssl();
  private pool = Buffer.allocUnsafe(POOL);
  private poolOffset = 0;
  private onRecord: RecordHandler = () => {};
  private onFail: (err: TandemError) => void = () => {};
  private closed = false;
  private writableListener: (() => void) | null = null;
  /** A record OpenSSL sealed but the socket refused; retried when the socket is writable. */
  private held: Buffer | null = null;
  /** Sealed DATA records of a pump batch the socket refused (in the batch buffer), sent first. */
  private heldBatch: { records: number; first: number } | null = null;
  /** UDP GSO for runs of equal records, until the kernel refuses it once. */
  private gso = true;
  /**
   * Records sent and received (all of them, pumped ones included), records refused by a full
   * socket, and of the pumped ones: DATA packets and their record bytes each way, and packets
   * a full TUN dropped.
   */
  readonly stats = {
    sent: 0,
    received: 0,
    sendBlocked: 0,
    pumpedOut: 0,
    pumpedBytesOut: 0,
    pumpedIn: 0,
    pumpedBytesIn: 0,
    tunDrops: 0,
  };
  /** The SSL object's address, as the native pump takes it. */
  private readonly sslAddress: bigint;
  /**
   * The pump's buffers (the send batch, one received record), result arrays and the datagram
   * memory BIO it seals into; made on first use.
   */
  private pump: {
    tx: Buffer;
    txOut: Int32Array;
    rx: Buffer;
    out: Int32Array;
    mem: Ptr;
    memAddress: bigint;
    rxMem: Ptr;
    rxMemAddress: bigint;
  } | null = null;
  /** Where DATA records go when the pump delivers them ({@link deliverDataTo}). */
  private dataSink: { fd: number; onDelivered: (packets: number) => void } | null = null;

  private constructor(
    private readonly ssl: Ptr,
    private readonly ctx: Ptr,
    private readonly fd: number,
    private readonly watch: FdWatch,
    readiness: { onReady: (events: number) => void },
    /** OpenSSL's name of the negotiated suite, e.g. "PSK-AES256-GCM-SHA384". */
    readonly cipher: string,
    /** The protocol version, e.g. "DTLSv1.2". */
    readonly version: string,
    /** The largest packet one record can carry on this path (OpenSSL's data MTU). */
    readonly dataMtu: number,
  ) {
    readiness.onReady = this.onReady;
    this.sslAddress = this.o.koffi.address(ssl);
  }

  /** Opens the socket and completes the handshake; rejects with E_DTLS (nothing stays open). */
  static async connect(opts: DtlsClientOptions): Promise<DtlsClient> {
    const o = openssl();
    o.errClear();
    const fd = connectUdp(opts.peer);
    let ctx: Ptr | null = null;
    let ssl: Ptr | null = null;
    let watch: FdWatch | null = null;
    // The fd's one watch serves the handshake first, then the channel.
    const readiness = { onReady: (_events: number): void => {} };
    const fail = (message: string): never => {
      throw new TandemError(ErrorCodes.DTLS, message, { details: { openssl: errorQueue(o) } });
    };
    try {
      ctx = o.ctxNew(o.dtlsClientMethod()) ?? fail('SSL_CTX_new failed');
      o.ctxCtrl(ctx, Ssl.CTRL_SET_MIN_PROTO_VERSION, Ssl.DTLS1_2_VERSION, null);
      o.ctxCtrl(ctx, Ssl.CTRL_SET_MAX_PROTO_VERSION, Ssl.DTLS1_2_VERSION, null);
      o.ctxCtrl(ctx, Ssl.CTRL_SET_SESS_CACHE_MODE, Ssl.SSL_SESS_CACHE_OFF, null);
      if (o.ctxSetCipherList(ctx, opts.ciphers) !== 1) fail(`no usable cipher in "${opts.ciphers}"`);
      ssl = o.sslNew(ctx) ?? fail('SSL_new failed');
      // A resumed legacy session must keep the state the header secret describes: no extended
      // master secret, no encrypt-then-MAC. Gateways of that mode also leave out the secure
      // renegotiation extension, which is harmless here: renegotiation is refused outright
      // (a rekey is a new handshake).
      const legacy = Ssl.OP_NO_EXTENDED_MASTER_SECRET | Ssl.OP_NO_ENCRYPT_THEN_MAC | Ssl.OP_LEGACY_SERVER_CONNECT;
      o.setOptions(
        ssl,
        Ssl.OP_NO_QUERY_MTU | Ssl.OP_NO_TICKET | Ssl.OP_NO_RENEGOTIATION | (opts.keying.kind === 'resume' ? legacy : 0),
      );
      // A record refused by a full socket is retried from a copy, at another address.
      o.sslCtrl(ssl, Ssl.CTRL_MODE, Ssl.MODE_ACCEPT_MOVING_WRITE_BUFFER, null);
      const bio = o.bioNewDgram(fd, Ssl.BIO_NOCLOSE) ?? fail('BIO_new_dgram failed');
      o.bioCtrl(bio, Ssl.BIO_CTRL_DGRAM_SET_CONNECTED, 0, sockaddr(opts.peer));
      o.setBio(ssl, bio, bio);
      o.sslCtrl(ssl, Ssl.DTLS_CTRL_SET_LINK_MTU, opts.linkMtu, null);
      presetSession(o, ssl, opts.keying, fail);
      if (opts.keying.kind === 'psk') usePsk(ssl, opts.keying.key, 'client');
      o.setConnectState(ssl);
      watch = new FdWatch(fd, (events) => readiness.onReady(events));
      await handshake(o, ssl, watch, readiness, opts);
      if (opts.keying.kind === 'resume' && o.sessionReused(ssl) !== 1) {
        fail('the gateway answered the legacy DTLS resumption with a full handshake: refused');
      }
      const cipher = o.currentCipher(ssl);
      return new DtlsClient(
        ssl,
        ctx,
        fd,
        watch,
        readiness,
        cipher ? o.cipherName(cipher) : 'unknown',
        o.version(ssl),
        o.dataMtu(ssl),
      );
    } catch (err) {
      watch?.close();
      if (ssl) {
        forgetPsk(ssl);
        o.sslFree(ssl);
      }
      if (ctx) o.ctxFree(ctx);
      closeUdp(fd);
      throw err instanceof TandemError ? err : new TandemError(ErrorCodes.DTLS, String(err), { cause: err });
    } finally {
      if (ssl) forgetPsk(ssl);
    }
  }

  /** Starts delivering records; `onError` hears once of a failure that closed the channel. */
  start(onRecord: RecordHandler, onError: (err: TandemError) => void): void {
    this.onRecord = onRecord;
    this.onFail = onError;
    this.watch.watch(Readiness.READABLE);
  }

  /**
   * Sends one record (`data` whole). False when the socket's buffer was full: OpenSSL has sealed
   * the record and holds it (a copy is kept to retry with), so it goes out once the socket is
   * writable; meanwhile further records are refused (false, nothing kept) — wait for
   * {@link onceWritable}. Throws nothing: a hard failure closes the channel and is reported.
   */
  send(data: Uint8Array): boolean {
    if (this.closed || this.held || this.heldBatch) {
      this.stats.sendBlocked++;
      return false;
    }
    const n = this.o.write(this.ssl, data, data.length);
    if (n > 0) {
      this.stats.sent++;
      return true;
    }
    const e = this.o.getError(this.ssl, n);
    if (e === Ssl.ERROR_WANT_WRITE || e === Ssl.ERROR_WANT_READ) {
      // OpenSSL must be called again with the same bytes; the caller's buffer may be reused.
      this.held = Buffer.from(data);
      this.stats.sendBlocked++;
      this.rewatch();
      return false;
    }
    this.failWith(`DTLS write failed (${e}): ${errorQueue(this.o)}`);
    return false;
  }

  /**
   * Sends the packets waiting on `tunFd` as DATA records (type byte 0 in front), up to `budget`,
   * sealed in one native call and sent in one sendmmsg. `blocked`: the socket filled and records
   * wait — wait for {@link onceWritable}; `more`: the budget ran out with packets left;
   * `tunErrno`: reading the TUN failed. A DTLS or socket failure closes the channel and is
   * reported as for {@link send}.
   */
  pumpFromTun(
    tunFd: number,
    budget = BATCH_MAX,
  ): { packets: number; blocked: boolean; more: boolean; tunErrno?: number } {
    if (this.closed || this.held || this.heldBatch) return { packets: 0, blocked: !this.closed, more: false };
    const p = this.buffers();
    const n = Math.min(Math.max(1, budget), BATCH_MAX);
    pumpAddon().tunToDtlsBatch(tunFd, this.sslAddress, this.fd, p.memAddress, p.tx, n, this.gso, p.txOut);
    const r = pumpResult(p.txOut);
    this.stats.sent += r.packets;
    this.stats.pumpedOut += r.packets;
    this.stats.pumpedBytesOut += r.bytes;
    const blocked = this.noteBatch(p.txOut);
    switch (r.status) {
      case PumpStatus.SSL_ERROR:
        this.failWith(writeFailure(r.detail, this.o));
        return { packets: r.packets, blocked: false, more: false };
      case PumpStatus.TUN_ERROR:
        return { packets: r.packets, blocked, more: false, tunErrno: r.detail };
      default:
        return { packets: r.packets, blocked, more: !blocked && r.status === PumpStatus.BUDGET };
    }
  }

  /** Records what a batch left unsent (true if any: the socket is watched for room). */
  private noteBatch(out: Int32Array): boolean {
    const b = batchState(out);
    if (b.gsoRefused) this.gso = false;
    if (b.first >= b.records) {
      this.heldBatch = null;
      return false;
    }
    if (!this.heldBatch) this.stats.sendBlocked++;
    this.heldBatch = { records: b.records, first: b.first };
    this.rewatch();
    return true;
  }

  /**
   * From now on DATA records are written to `tunFd` natively as they arrive (`onDelivered`
   * hears how many per batch); other records still go to the record handler. Null: back to the
   * record handler for all.
   */
  deliverDataTo(tunFd: number | null, onDelivered: (packets: number) => void = () => {}): void {
    this.dataSink = tunFd === null ? null : { fd: tunFd, onDelivered };
  }

  private buffers(): NonNullable<DtlsClient['pump']> {
    if (this.pump) return this.pump;
    const mem = this.o.bioNewDgramMem();
    const rxMem = this.o.bioNewDgramMem();
    if (!mem || !rxMem) {
      if (mem) this.o.bioFree(mem);
      throw new TandemError(ErrorCodes.DTLS, `BIO_new(BIO_s_dgram_mem) failed: ${errorQueue(this.o)}`);
    }
    this.pump = {
      tx: Buffer.allocUnsafe(BATCH_BUFFER),
      txOut: new Int32Array(8 + BATCH_MAX),
      rx: Buffer.allocUnsafe(RX_BATCH_BUFFER),
      out: new Int32Array(8),
      mem,
      memAddress: this.o.koffi.address(mem),
      rxMem,
      rxMemAddress: this.o.koffi.address(rxMem),
    };
    return this.pump;
  }

  /** Closes the channel (sends close_notify best effort); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.close();
    this.o.shutdown(this.ssl);
    this.o.errClear();
    this.o.sslFree(this.ssl);
    if (this.pump) {
      this.o.bioFree(this.pump.mem);
      this.o.bioFree(this.pump.rxMem);
    }
    this.o.ctxFree(this.ctx);
    closeUdp(this.fd);
  }

  /** True once closed (by {@link close} or a failure). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Calls `listener` once the record held by a refused {@link send} has gone out (at once, on the
   * next turn, when nothing is held); returns a function that cancels it.
   */
  onceWritable(listener: () => void): () => void {
    this.writableListener = listener;
    if (!this.held && !this.heldBatch) setImmediate(() => this.notifyWritable());
    return () => {
      if (this.writableListener === listener) this.writableListener = null;
    };
  }

  /** Watches for what the channel waits for: records to read, and room for a held record. */
  private rewatch(): void {
    const waiting = this.held !== null || this.heldBatch !== null;
    if (!this.closed) this.watch.watch(Readiness.READABLE | (waiting ? Readiness.WRITABLE : 0));
  }

  private notifyWritable(): void {
    const listener = this.writableListener;
    this.writableListener = null;
    if (listener && !this.closed) listener();
  }

  /** Retries the held batch, then the held record; true once everything went out. */
  private flushHeld(): boolean {
    const batch = this.heldBatch;
    if (batch && this.pump) {
      const p = this.pump;
      pumpAddon().flushBatch(this.fd, p.tx, batch.records, batch.first, this.gso, p.txOut);
      const r = pumpResult(p.txOut);
      if (r.status === PumpStatus.SSL_ERROR) {
        this.failWith(writeFailure(r.detail, this.o));
        return false;
      }
      if (this.noteBatch(p.txOut)) return false;
      this.rewatch();
    }
    const held = this.held;
    if (!held) return true;
    const n = this.o.write(this.ssl, held, held.length);
    if (n > 0) {
      this.held = null;
      this.stats.sent++;
      this.rewatch();
      return true;
    }
    const e = this.o.getError(this.ssl, n);
    if (e !== Ssl.ERROR_WANT_WRITE && e !== Ssl.ERROR_WANT_READ) {
      this.failWith(`DTLS write failed (${e}): ${errorQueue(this.o)}`);
    }
    return false;
  }

  private readonly onReady = (events: number): void => {
    if (events & Readiness.WRITABLE && this.flushHeld()) this.notifyWritable();
    if (events & Readiness.READABLE) this.onReadable();
  };

  private onReadable(): void {
    if (this.dataSink) {
      this.pumpToTun(this.dataSink);
      return;
    }
    for (let i = 0; i < READ_BUDGET && !this.closed; i++) {
      if (POOL - this.poolOffset < MAX_RECORD) {
        // Records handed out keep the old pool alive; a fresh one is cheaper than copying.
        this.pool = Buffer.allocUnsafe(POOL);
        this.poolOffset = 0;
      }
      const view = this.pool.subarray(this.poolOffset, this.poolOffset + MAX_RECORD);
      const n = this.o.read(this.ssl, view, view.length);
      if (n > 0) {
        this.poolOffset += (n + 7) & ~7;
        this.stats.received++;
        this.onRecord(view, n);
        continue;
      }
      const e = this.o.getError(this.ssl, n);
      if (e === Ssl.ERROR_WANT_READ || e === Ssl.ERROR_WANT_WRITE) return;
      if (e === Ssl.ERROR_ZERO_RETURN) this.failWith('the gateway closed the DTLS channel');
      else this.failWith(`DTLS read failed (${e}): ${errorQueue(this.o) || 'the UDP path reported an error'}`);
      return;
    }
  }

  /**
   * Receives and opens records natively (recvmmsg, then SSL_read from a datagram memory BIO):
   * DATA to the TUN, anything else to the record handler.
   */
  private pumpToTun(sink: { fd: number; onDelivered: (packets: number) => void }): void {
    const p = this.buffers();
    const addon = pumpAddon();
    // A control record ends a call with datagrams maybe still queued: call again until none are
    // (bounded: each call opens at least one record or receives nothing).
    for (let calls = 0; calls < 2 * READ_BUDGET && !this.closed && this.dataSink === sink; calls++) {
      addon.dtlsToTunBatch(this.sslAddress, this.fd, p.rxMemAddress, sink.fd, p.rx, READ_BUDGET, p.out);
      const r = pumpResult(p.out);
      const queued = p.out[5] === 1;
      this.stats.received += r.packets;
      this.stats.pumpedIn += r.packets;
      this.stats.pumpedBytesIn += r.bytes;
      if (r.packets > 0) sink.onDelivered(r.packets);
      switch (r.status) {
        case PumpStatus.CONTROL:
          this.stats.tunDrops += r.detail;
          this.stats.received++;
          this.onRecord(p.rx, r.length);
          continue;
        case PumpStatus.CLOSED:
          this.failWith('the gateway closed the DTLS channel');
          return;
        case PumpStatus.SSL_ERROR:
          this.failWith(
            r.detail >= 1000
              ? `DTLS read failed: the UDP path reported errno ${r.detail - 1000}`
              : `DTLS read failed (${r.detail}): ${errorQueue(this.o) || 'the UDP path reported an error'}`,
          );
          return;
        default:
          this.stats.tunDrops += r.detail;
          if (!queued) return;
      }
    }
  }

  private failWith(message: string): void {
    if (this.closed) return;
    this.close();
    this.onFail(new TandemError(ErrorCodes.DTLS, message));
  }
}

/** The message of a failed send: a socket errno (1000 + errno from the pump) or OpenSSL's queue. */
function writeFailure(detail: number, o: OpenSsl): string {
  if (detail >= 1000) return `DTLS send failed: the UDP socket reported errno ${detail - 1000}`;
  return `DTLS write failed (${detail}): ${errorQueue(o)}`;
}
