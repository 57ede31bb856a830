/**
 * A TLS client whose records are made by OpenSSL (Node's own, through koffi) over memory BIOs,
 * on a TCP connection Node owns (net.Socket). It exists for the tunnel's CSTP connection: Node's
 * TLSSocket seals one record per write and makes one TCP write and one event-loop completion of
 * it, and with one CSTP frame per record (what ocserv requires) that per-record machinery was
 * half of the process's CPU on a bulk transfer. Here the packet pump (native/pump.c) seals a
 * whole batch of frames, one record each, and the batch leaves in one socket write; received
 * chunks are opened natively and DATA frames go straight to the TUN.
 *
 * Before the pump takes over it behaves like the subset of a TLSSocket the HTTP exchange and the
 * CSTP session use: `data` (plaintext), `end`, `close`, `error`, write, pause/resume, destroy,
 * getProtocol/getCipher, exportKeyingMaterial. The caller verifies the server with
 * {@link TlsClient.peer} (OpenSSL's chain validation against the given CAs is recorded, never
 * enforced here).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';
import { drainBio, errorQueue, openssl, Ssl, type OpenSsl, type Ptr } from './openssl.js';
import { pumpAddon, pumpResult, PumpStatus } from './pump.js';
import type { TlsPeer } from './tls-peer.js';
import type { ExternalKey } from './external-key.js';
import { handshake } from './tls-handshake.js';
import type { TlsClientOptions } from './tls-setup.js';

export type { TlsPeer } from './tls-peer.js';
export type { TlsClientIdentity, TlsClientOptions } from './tls-setup.js';
export type { ExternalKeySigner, ExternalPadding, ExternalSignHash } from './external-key.js';

/** A CSTP frame budget per pump call and the pump's buffer sizes (native/pump.c). */
const TX_BUDGET = 64;
const TLS_SCRATCH = 8 + 16 * 1024 + 64;
const TX_BUFFER = 2 * TLS_SCRATCH + 256 + TX_BUDGET * 1600;
const PLAIN_BUFFER = 8 + 0xffff + 1 + 16 * 1024;
/** Socket reads land in one buffer per connection (Node's `onread`): each chunk is copied into
 * OpenSSL's read BIO at once, so a fresh 64 KiB buffer per read would only be garbage. */
const READ_BUFFER = 64 * 1024;
/** Send batches kept for reuse once the socket has written them. */
const TX_SPARE = 4;

/** A TLS connection whose records OpenSSL makes in memory and Node's socket carries. */
export class TlsClient extends EventEmitter {
  private readonly o: OpenSsl = openssl();
  private closed = false;
  private paused = false;
  /** Plaintext read before anyone listened (delivered on resume). */
  private pending: Buffer[] = [];
  private readonly sslAddress: bigint;
  private readonly rbioAddress: bigint;
  private readonly wbioAddress: bigint;
  private pump: { out: Int32Array; plain: Buffer; state: Int32Array } | null = null;
  /** Batch buffers the socket has finished with. */
  private readonly txSpare: Buffer[] = [];
  /** Where DATA frames go while the pump runs ({@link deliverDataTo}). */
  private sink: {
    fd: number;
    onDelivered: (packets: number, bytes: number) => void;
    onTunFull: (packet: Buffer, retry: () => void) => void;
  } | null = null;
  private tunBlocked = false;
  /** Frames and bytes the pump moved each way (CSTP header included). */
  readonly pumped = { packetsOut: 0, bytesOut: 0, packetsIn: 0, bytesIn: 0, tunDrops: 0 };
  /** When the socket last delivered bytes (ms since the epoch): liveness without a call per packet. */
  lastReadAt = Date.now();

  private constructor(
    private readonly socket: Socket,
    private readonly ssl: Ptr,
    private readonly rbio: Ptr,
    private readonly wbio: Ptr,
    /** What the server showed and how OpenSSL judged it. */
    readonly peer: TlsPeer,
    reads: { handler: (chunk: Buffer) => void },
    private readonly external: ExternalKey | null,
  ) {
    super();
    const k = this.o.koffi;
    this.sslAddress = k.address(ssl);
    this.rbioAddress = k.address(rbio);
    this.wbioAddress = k.address(wbio);
    reads.handler = (chunk) => this.onCiphertext(chunk);
    socket.on('end', () => this.emit('end'));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.shut());
    socket.on('drain', () => this.emit('drain'));
    socket.resume();
  }

  /** Connects, handshakes and reads the server's chain; rejects with a typed error. */
  static async connect(opts: TlsClientOptions): Promise<TlsClient> {
    const h = await handshake(opts, READ_BUFFER);
    return new TlsClient(h.socket, h.ssl, h.rbio, h.wbio, h.peer, h.reads, h.external);
  }

  /** Writes `data` as TLS records (one record up to 16 KiB); `cb` once the socket took them. */
  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.closed) {
      if (cb) queueMicrotask(() => cb(new Error('the TLS connection is closed')));
      return false;
    }
    const n = this.o.write(this.ssl, data, data.length);
    if (n <= 0) {
      const err = new Error(`TLS write failed: ${errorQueue(this.o)}`);
      if (cb) queueMicrotask(() => cb(err));
      this.fail(err);
      return false;
    }
    return this.socket.write(drainBio(this.o, this.wbio) ?? Buffer.alloc(0), cb);
  }

  /** Stops `data` events (and, in pump mode, opening records) until {@link resume}. */
  pause(): this {
    this.paused = true;
    this.socket.pause();
    return this;
  }

  /** Delivers what was held, then reads on. */
  resume(): this {
    this.paused = false;
    while (this.pending.length > 0 && !this.paused) this.emit('data', this.pending.shift()!);
    if (!this.paused && !this.tunBlocked) this.socket.resume();
    return this;
  }

  /** Sends close_notify (best effort) and closes the TCP connection. */
  end(): this {
    if (!this.closed) {
      this.o.shutdown(this.ssl);
      this.o.errClear();
      const out = drainBio(this.o, this.wbio);
      if (out) this.socket.end(out);
      else this.socket.end();
    }
    return this;
  }

  /** Closes at once. */
  destroy(): this {
    this.socket.destroy();
    this.shut();
    return this;
  }

  /** True once closed. */
  get destroyed(): boolean {
    return this.closed;
  }

  /** The local address the TCP connection left from (the path check compares it to the route). */
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  /** True while data can still be sent. */
  get writable(): boolean {
    return !this.closed && this.socket.writable;
  }

  /** True once the gateway ended its side. */
  get readableEnded(): boolean {
    return this.socket.readableEnded;
  }

  /** Lets the process exit while only this (idle) connection is open. */
  unref(): this {
    this.socket.unref();
    return this;
  }

  /** Undoes {@link unref}. */
  ref(): this {
    this.socket.ref();
    return this;
  }

  /** Accepted for the TLSSocket shape: the socket is made with Nagle off. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** "TLSv1.3", "TLSv1.2". */
  getProtocol(): string | null {
    return this.closed ? null : this.o.version(this.ssl);
  }

  /** The negotiated suite; `standardName` as IANA names it. */
  getCipher(): { name: string; standardName: string; version: string } | undefined {
    if (this.closed) return undefined;
    const c = this.o.currentCipher(this.ssl);
    if (!c) return undefined;
    const name = this.o.cipherName(c);
    return { name, standardName: this.o.cipherStandardName(c) ?? name, version: this.o.version(this.ssl) };
  }

  /** The key-exchange group negotiated, by OpenSSL's name (e.g. `X25519MLKEM768`, `x25519`). */
  negotiatedGroup(): string | null {
    if (this.closed) return null;
    const id = this.o.sslCtrl(this.ssl, Ssl.CTRL_GET_NEGOTIATED_GROUP, 0, null);
    return id > 0 ? this.o.groupToName(this.ssl, id) : null;
  }

  /** RFC 5705 keying material (without a context when `context` is absent, as Node does). */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    if (this.closed) throw new TandemError(ErrorCodes.PROTOCOL, 'the TLS connection is closed');
    const out = Buffer.alloc(length);
    const ok = this.o.exportKeyingMaterial(
      this.ssl,
      out,
      length,
      label,
      Buffer.byteLength(label),
      context ?? null,
      context?.length ?? 0,
      context ? 1 : 0,
    );
    if (ok !== 1)
      throw new TandemError(ErrorCodes.PROTOCOL, `TLS keying material export failed: ${errorQueue(this.o)}`);
    return out;
  }

  /**
   * Reads `tunFd` and sends each packet as one CSTP DATA frame in one record, up to a batch, in
   * one socket write. `blocked`: the socket's buffer is full — wait for `drain`.
   */
  pumpFromTun(tunFd: number): { packets: number; blocked: boolean; more: boolean; tunErrno?: number } {
    if (this.closed) return { packets: 0, blocked: false, more: false };
    const p = this.buffers();
    const tx = this.txSpare.pop() ?? Buffer.allocUnsafe(TX_BUFFER);
    pumpAddon().tunToTls(tunFd, this.sslAddress, this.wbioAddress, tx, TX_BUDGET, p.out);
    const r = pumpResult(p.out);
    this.pumped.packetsOut += r.packets;
    this.pumped.bytesOut += r.bytes;
    if (this.closed) return { packets: r.packets, blocked: false, more: false };
    const spare = (): void => {
      if (this.txSpare.length < TX_SPARE) this.txSpare.push(tx);
    };
    let ok = true;
    // The batch buffer goes to the socket as it is and comes back for reuse once written.
    if (r.length > 0) ok = this.socket.write(tx.subarray(TLS_SCRATCH, TLS_SCRATCH + r.length), spare);
    else spare();
    if (r.status === PumpStatus.SSL_ERROR) {
      this.fail(new Error(`TLS write failed (${r.detail}): ${errorQueue(this.o)}`));
      return { packets: r.packets, blocked: false, more: false };
    }
    if (r.status === PumpStatus.TUN_ERROR) return { packets: r.packets, blocked: !ok, more: false, tunErrno: r.detail };
    return { packets: r.packets, blocked: !ok, more: ok && r.status === PumpStatus.BUDGET };
  }

  /**
   * From now on DATA frames go to `tunFd` natively as records are opened (`onDelivered` hears
   * how many per chunk); other frames are still emitted as `data`, one whole frame each. A full
   * TUN stops reading the socket: `onTunFull(packet, retry)` gets the packet the TUN refused (a
   * copy, to queue) and must call `retry` once the TUN has room. `carry` is plaintext the
   * caller's own decoder held (the start of a frame); frames longer than `maxPayload` end the
   * connection. Null: every frame is emitted again, a partial one first.
   */
  deliverDataTo(
    tunFd: number | null,
    options: {
      onDelivered?: (packets: number, bytes: number) => void;
      onTunFull?: (packet: Buffer, retry: () => void) => void;
      carry?: Buffer;
      maxPayload?: number;
    } = {},
  ): void {
    if (this.closed) return;
    const p = this.buffers();
    if (tunFd === null) {
      const held = p.state[1]! - p.state[0]!;
      if (this.sink && held > 0) this.deliver(Buffer.from(p.plain.subarray(p.state[0], p.state[1])));
      p.state[0] = p.state[1] = 0;
      this.sink = null;
      return;
    }
    // Plaintext not yet handed out goes after what the caller's decoder held.
    const carry = Buffer.concat([options.carry ?? EMPTY, ...this.pending.splice(0)]);
    if (carry.length > p.plain.length) throw new TandemError(ErrorCodes.PROTOCOL, 'CSTP carry-over too long');
    carry.copy(p.plain, 0);
    p.state[0] = 0;
    p.state[1] = carry.length;
    p.state[2] = Math.min(options.maxPayload ?? 0xffff, 0xffff);
    this.sink = {
      fd: tunFd,
      onDelivered: options.onDelivered ?? (() => {}),
      onTunFull: options.onTunFull ?? ((_p, retry) => setImmediate(retry)),
    };
    if (carry.length > 0) this.openNatively(EMPTY);
  }

  private buffers(): NonNullable<TlsClient['pump']> {
    this.pump ??= {
      out: new Int32Array(8),
      plain: Buffer.allocUnsafe(PLAIN_BUFFER),
      state: Int32Array.of(0, 0, 0xffff),
    };
    return this.pump;
  }

  private onCiphertext(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReadAt = Date.now();
    if (this.sink) {
      this.openNatively(chunk);
      return;
    }
    this.o.bioWrite(this.rbio, chunk, chunk.length);
    // A listener may close the connection while a record is delivered: the SSL object is freed
    // then, so every turn of the loop checks first.
    while (!this.closed) {
      const buf = Buffer.allocUnsafe(16 * 1024);
      const n = this.o.read(this.ssl, buf, buf.length);
      if (n > 0) {
        this.deliver(buf.subarray(0, n));
        continue;
      }
      const e = this.o.getError(this.ssl, n);
      this.flushWrites();
      if (e === Ssl.ERROR_WANT_READ || e === Ssl.ERROR_WANT_WRITE) return;
      if (e === Ssl.ERROR_ZERO_RETURN) {
        this.emit('end');
        this.destroy();
      } else this.fail(new Error(`TLS read failed: ${errorQueue(this.o) || e}`));
      return;
    }
  }

  /** Opens records natively; DATA to the sink's TUN, other frames emitted whole. */
  private openNatively(chunk: Buffer): void {
    const sink = this.sink!;
    const p = this.buffers();
    const addon = pumpAddon();
    let input = chunk;
    for (let calls = 0; !this.closed && this.sink === sink; calls++) {
      addon.tlsToTun(this.sslAddress, this.rbioAddress, input, sink.fd, p.plain, p.state, p.out);
      input = EMPTY;
      const r = pumpResult(p.out);
      if (p.out[6] === 1) this.flushWrites();
      this.pumped.packetsIn += r.packets;
      this.pumped.bytesIn += r.bytes;
      this.pumped.tunDrops += p.out[7]!;
      if (r.packets > 0) sink.onDelivered(r.packets, r.bytes);
      switch (r.status) {
        case PumpStatus.CONTROL: {
          const at = p.out[5]!;
          this.deliver(Buffer.from(p.plain.subarray(at, at + r.length)));
          continue;
        }
        case PumpStatus.TUN_FULL: {
          const at = p.out[5]!;
          this.tunBlocked = true;
          this.socket.pause();
          sink.onTunFull(Buffer.from(p.plain.subarray(at, at + r.length)), () => {
            this.tunBlocked = false;
            if (this.closed || this.sink !== sink) return;
            this.openNatively(EMPTY);
            if (!this.paused && !this.tunBlocked) this.socket.resume();
          });
          return;
        }
        case PumpStatus.CLOSED:
          this.emit('end');
          this.destroy();
          return;
        case PumpStatus.BAD_FRAME:
          this.fail(new Error(r.detail === 1 ? 'CSTP frame without its STF header' : 'CSTP frame longer than allowed'));
          return;
        case PumpStatus.SSL_ERROR:
          this.fail(new Error(`TLS read failed (${r.detail}): ${errorQueue(this.o)}`));
          return;
        case PumpStatus.TUN_ERROR:
          this.fail(new Error(`TUN write failed: errno ${r.detail}`));
          return;
        default:
          return;
      }
    }
  }

  private deliver(plain: Buffer): void {
    if (this.paused) this.pending.push(plain);
    else this.emit('data', plain);
  }

  /** Sends what OpenSSL wrote on its own (alerts, a KeyUpdate answer). */
  private flushWrites(): void {
    if (this.closed) return;
    const out = drainBio(this.o, this.wbio);
    if (out) this.socket.write(out);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    // A connection nobody is using (an idle keep-alive one, or between owners) just closes:
    // a gateway's alert must never become an uncaught 'error'.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.destroy();
  }

  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink = null;
    this.o.sslFree(this.ssl);
    this.external?.release();
    this.o.errClear();
    this.emit('close');
  }
}

const EMPTY = Buffer.alloc(0);
