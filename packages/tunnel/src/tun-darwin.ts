/**
 * {@link TunDevice} on macOS: a utun interface, which is a kernel control socket (opened in
 * tun-open-darwin.ts). Every packet on the socket carries a 4-byte header,
 * the address family in network byte order (AF_INET 2, AF_INET6 30): reads land 4 bytes early in
 * the pool so the header falls into the packet's headroom and the packet is handed out without a
 * copy; writes put the header in front (one copy into a scratch buffer, as the socket takes one
 * contiguous datagram).
 *
 * Readiness comes from @tandem/fdpoll as on Linux (libuv's uv_poll_t is a kqueue watch on macOS):
 * nothing runs while the tunnel is quiet. The socket is non-blocking; a read pass drains until
 * EAGAIN or a budget. A write goes straight into the network stack; if the kernel refuses it for
 * lack of room (ENOBUFS/EAGAIN) the packet is dropped and write() answers false.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { FdWatch, loadFdPoll, Readiness, type ReadinessHandler } from '@tandem/fdpoll';
import { zeroTunStats, type DeviceErrorHandler, type PacketHandler, type TunDevice, type TunStats } from './device.js';
import { errnoFailure, openUtun } from './tun-open-darwin.js';
import { DarwinErrno, loadUtunApi, Utun, type UtunApi } from './utun-api-darwin.js';

/** The part of a readiness watch the device uses ({@link FdWatch}, or a test's stand-in). */
export interface ReadinessWatch {
  watch(events: number): void;
  close(): void;
}

/** Tuning knobs for {@link DarwinTunDevice}. */
export interface DarwinTunOptions {
  /** Bytes reserved before each packet for the consumer's framing header; at least the 4 of utun's own. */
  headroom?: number;
  /** Largest packet read; default 65535. */
  maxPacket?: number;
  /** Size of each receive pool; default 1 MiB. */
  poolSize?: number;
  /** Packets delivered per pass before yielding to the event loop; default 256. */
  readBudget?: number;
  /** Makes the readiness watch; default an {@link FdWatch}. */
  watch?: (fd: number, onReady: ReadinessHandler) => ReadinessWatch;
}

const HEADER = 4;

/** Opens a utun interface: the macOS entry of openTunDevice. */
export async function openDarwinTun(name: string | undefined, options: DarwinTunOptions = {}): Promise<TunDevice> {
  // The readiness addon first, so a missing build fails before an interface exists.
  if (!options.watch) loadFdPoll();
  return DarwinTunDevice.open(loadUtunApi(), name, options);
}

/** A utun interface driven from the event loop. */
export class DarwinTunDevice implements TunDevice {
  /** The socket's packets carry a header a native pump would not write: none is offered. */
  readonly fd = null;
  readonly headroom: number;
  private onPacket: PacketHandler | undefined;
  private onError: DeviceErrorHandler | undefined;
  private paused = false;
  private closed = false;
  private failed = false;
  private pool: Buffer;
  private poolOffset = 0;
  private readonly out: Buffer;
  private readonly maxPacket: number;
  private readonly poolSize: number;
  private readonly readBudget: number;
  private readonly poll: ReadinessWatch;
  private readonly s: TunStats = zeroTunStats();

  private constructor(
    private readonly api: UtunApi,
    /** The control socket; private, see {@link fd}. */
    private readonly socket: number,
    readonly name: string,
    options: DarwinTunOptions,
  ) {
    this.headroom = Math.max(HEADER, Math.min(options.headroom ?? 0, 64));
    this.maxPacket = options.maxPacket ?? 65535;
    this.poolSize = Math.max(options.poolSize ?? 1 << 20, (this.maxPacket + this.headroom) * 2 + 128);
    this.readBudget = options.readBudget ?? 256;
    this.pool = Buffer.allocUnsafe(this.poolSize);
    this.out = Buffer.allocUnsafe(this.maxPacket + HEADER);
    this.poll = (options.watch ?? ((fd, onReady) => new FdWatch(fd, onReady)))(socket, this.onReady);
  }

  /** Opens a utun interface through `api` (see {@link openUtun}) and wraps its socket. */
  static open(api: UtunApi, requested: string | undefined, options: DarwinTunOptions = {}): DarwinTunDevice {
    const { fd, name } = openUtun(api, requested);
    try {
      return new DarwinTunDevice(api, fd, name, options);
    } catch (err) {
      api.close(fd);
      throw err;
    }
  }

  /** Starts delivering packets. */
  start(onPacket: PacketHandler, onError?: DeviceErrorHandler): void {
    if (this.onPacket) throw new TandemError(ErrorCodes.TUN, `${this.name}: already started`);
    if (this.closed) throw new TandemError(ErrorCodes.TUN, `${this.name}: closed`);
    this.onPacket = onPacket;
    this.onError = onError;
    this.rewatch();
  }

  /** Refuses a native reader: it would read the family header as part of the packet. */
  setReader(reader: ((fd: number) => boolean) | null): void {
    if (reader) throw new TandemError(ErrorCodes.TUN, `${this.name}: utun packets cannot go to a native reader`);
  }

  private rewatch(): void {
    if (this.closed || this.failed) return;
    this.poll.watch(this.onPacket && !this.paused ? Readiness.READABLE : 0);
  }

  private readonly onReady = (events: number, err?: TandemError): void => {
    if (err) this.fail(err);
    else if (events & Readiness.READABLE) this.drain();
  };

  private drain(): void {
    const onPacket = this.onPacket;
    if (this.closed || this.failed || this.paused || !onPacket) return;
    let delivered = 0;
    while (delivered < this.readBudget && !this.paused && !this.closed) {
      if (this.poolSize - this.poolOffset < this.maxPacket + this.headroom) {
        this.pool = Buffer.allocUnsafe(this.poolSize);
        this.poolOffset = 0;
      }
      const start = this.poolOffset + this.headroom;
      const n = this.api.read(
        this.socket,
        this.pool.subarray(start - HEADER, start + this.maxPacket),
        this.maxPacket + HEADER,
      );
      if (n < 0) {
        const errno = this.api.errno();
        if (errno === DarwinErrno.EAGAIN) break;
        if (errno === DarwinErrno.EINTR) continue;
        this.fail(errnoFailure('read', errno, this.name));
        return;
      }
      if (n === 0) {
        this.fail(new TandemError(ErrorCodes.TUN, `${this.name}: read returned end of file`));
        return;
      }
      // A header without a packet carries nothing to deliver.
      if (n <= HEADER) continue;
      this.poolOffset += (this.headroom + n - HEADER + 7) & ~7;
      delivered++;
      this.s.rxPackets++;
      this.s.rxBytes += n - HEADER;
      onPacket(this.pool.subarray(start, start + n - HEADER));
    }
    if (delivered > 0) this.s.rxBatches++;
    else this.s.rxIdlePolls++;
  }

  private fail(err: TandemError): void {
    if (this.failed) return;
    this.failed = true;
    if (!this.closed) this.poll.watch(0);
    this.onError?.(err);
  }

  /** Sends one packet with its family header; false when the kernel had no room (dropped) or the device failed. */
  write(packet: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const n = packet.byteLength;
    const version = n > 0 ? packet[0]! >> 4 : 0;
    const family = version === 4 ? Utun.AF_INET : version === 6 ? Utun.AF_INET6 : 0;
    if (family === 0 || n > this.maxPacket) {
      // Not an IP packet: lost, as a malformed write is on Linux.
      this.s.txErrors++;
      return true;
    }
    this.out.writeUInt32BE(family, 0);
    this.out.set(packet, HEADER);
    for (;;) {
      if (this.api.write(this.socket, this.out, n + HEADER) >= 0) {
        this.s.txPackets++;
        this.s.txBytes += n;
        return true;
      }
      const errno = this.api.errno();
      if (errno === DarwinErrno.EINTR) continue;
      if (errno === DarwinErrno.ENOBUFS || errno === DarwinErrno.EAGAIN) {
        this.s.txDropped++;
        return false;
      }
      this.s.txErrors++;
      // This packet is lost, the device is fine (a refused or oversized packet, the link down).
      if (errno === DarwinErrno.EIO || errno === DarwinErrno.EINVAL || errno === DarwinErrno.EMSGSIZE) return true;
      this.fail(errnoFailure('write', errno, this.name));
      return false;
    }
  }

  /** Nothing is ever queued: the listener runs on the next turn of the loop (never after close). */
  onceWriteDrained(listener: () => void): () => void {
    if (this.closed) return () => {};
    const immediate = setImmediate(() => {
      if (!this.closed) listener();
    });
    return () => clearImmediate(immediate);
  }

  /** Stops reading; packets wait in the socket's receive buffer. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.rewatch();
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.rewatch();
  }

  /** Stops reading and closes the socket, which removes the interface; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The watch goes first: kqueue must forget the fd before its number can be reused.
    this.poll.close();
    this.api.close(this.socket);
  }

  /** A copy of the counters. */
  stats(): TunStats {
    return { ...this.s };
  }
}
