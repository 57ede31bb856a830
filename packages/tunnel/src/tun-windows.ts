/**
 * {@link TunDevice} on Windows: a Wintun adapter and one session on it. Packets are raw IP, one
 * per ring slot (no header). Reading drains the receive ring with WintunReceivePacket, copying
 * each packet into a pooled buffer (with the consumer's headroom in front) and releasing the
 * slot at once; when the ring is empty (ERROR_NO_MORE_ITEMS) the device waits for the session's
 * read event off the JS thread ({@link WintunApi.waitForAny}), so an idle tunnel costs no CPU.
 * Writing allocates a slot, copies the packet in and sends it; a full ring (ERROR_BUFFER_OVERFLOW)
 * drops the packet and answers false, the back-pressure signal Linux gives when its queue is full.
 * There is no write queue: Wintun gives no "room again" event to flush one on.
 *
 * Opening is tun-open-windows.ts. The OS calls come through {@link WintunApi}
 * (wintun-api-windows.ts); tests pass a fake.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { zeroTunStats, type DeviceErrorHandler, type PacketHandler, type TunDevice, type TunStats } from './device.js';
import { openWintun, win32Failure, type WintunHandles, type WintunOpenRequest } from './tun-open-windows.js';
import { loadWintunApi, Win32Error, WaitResult, type WintunApi } from './wintun-api-windows.js';

/** Tuning knobs for {@link WindowsTunDevice}. */
export interface WindowsTunOptions extends WintunOpenRequest {
  /** Bytes reserved before each packet for the consumer's framing header (see TunDevice.headroom); default 0. */
  headroom?: number;
  /** Packets delivered per pass before yielding to the event loop; default 256. */
  readBudget?: number;
  /** Size of each receive pool; default 1 MiB. */
  poolSize?: number;
  /** Absolute path of wintun.dll; default: beside the executable. */
  dllPath?: string;
}

const MAX_PACKET = 0xffff;

/** Opens the Wintun adapter (wintun.dll from beside the executable): the Windows entry of openTunDevice. */
export async function openWindowsTun(name: string | undefined, options: WindowsTunOptions = {}): Promise<TunDevice> {
  return WindowsTunDevice.open(loadWintunApi(options.dllPath), name, options);
}

/** A Wintun adapter and session driven from the event loop. */
export class WindowsTunDevice implements TunDevice {
  /** Wintun has no fd: packets move through start() and write() only. */
  readonly fd = null;
  readonly headroom: number;
  private onPacket: PacketHandler | undefined;
  private onError: DeviceErrorHandler | undefined;
  private paused = false;
  private closed = false;
  private failed = false;
  private released = false;
  /** Set while a wait for the read event is on the threadpool. */
  private waiting = false;
  private immediate: NodeJS.Immediate | null = null;
  private pool: Buffer;
  private poolOffset = 0;
  private readonly size = new Uint32Array(1);
  private readonly readBudget: number;
  private readonly poolSize: number;
  private readonly s: TunStats = zeroTunStats();

  private constructor(
    private readonly api: WintunApi,
    readonly name: string,
    /** The adapter's NET_LUID, which the IP Helper calls take for routes and addresses. */
    readonly luid: bigint,
    private readonly h: WintunHandles,
    options: WindowsTunOptions,
  ) {
    this.headroom = Math.max(0, Math.min(options.headroom ?? 0, 64));
    this.readBudget = options.readBudget ?? 256;
    this.poolSize = Math.max(options.poolSize ?? 1 << 20, MAX_PACKET * 2 + 128);
    this.pool = Buffer.allocUnsafe(this.poolSize);
  }

  /** Opens the adapter and session through `api` (see {@link openWintun}) and wraps them. */
  static open(api: WintunApi, requested: string | undefined, options: WindowsTunOptions = {}): WindowsTunDevice {
    const h = openWintun(api, requested, options);
    return new WindowsTunDevice(api, h.name, h.luid, h, options);
  }

  /** Starts delivering packets. */
  start(onPacket: PacketHandler, onError?: DeviceErrorHandler): void {
    if (this.onPacket) throw new TandemError(ErrorCodes.TUN, `${this.name}: already started`);
    if (this.closed) throw new TandemError(ErrorCodes.TUN, `${this.name}: closed`);
    this.onPacket = onPacket;
    this.onError = onError;
    this.scheduleDrain();
  }

  /** Refuses a native reader: there is no fd to give it. */
  setReader(reader: ((fd: number) => boolean) | null): void {
    if (reader) throw new TandemError(ErrorCodes.TUN, `${this.name}: a Wintun adapter has no fd for a native reader`);
  }

  private scheduleDrain(): void {
    if (this.immediate || this.closed) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.drain();
    });
  }

  private drain(): void {
    const onPacket = this.onPacket;
    if (this.closed || this.failed || this.paused || !onPacket) return;
    const { session } = this.h;
    let delivered = 0;
    while (delivered < this.readBudget && !this.paused && !this.closed) {
      const slot = this.api.WintunReceivePacket(session, this.size);
      if (slot === null) {
        const code = this.api.GetLastError();
        if (delivered > 0) this.s.rxBatches++;
        else this.s.rxIdlePolls++;
        if (code === Win32Error.NO_MORE_ITEMS) this.arm();
        else this.fail(win32Failure('WintunReceivePacket', code, readFailure(code)));
        return;
      }
      const n = this.size[0]!;
      if (this.poolSize - this.poolOffset < MAX_PACKET + this.headroom) {
        // Slices handed out keep the old pool alive; a fresh one is cheaper than copying packets.
        this.pool = Buffer.allocUnsafe(this.poolSize);
        this.poolOffset = 0;
      }
      const start = this.poolOffset + this.headroom;
      this.pool.set(this.api.view(slot, n), start);
      this.api.WintunReleaseReceivePacket(session, slot);
      this.poolOffset += (this.headroom + n + 7) & ~7;
      delivered++;
      this.s.rxPackets++;
      this.s.rxBytes += n;
      onPacket(this.pool.subarray(start, start + n));
    }
    if (delivered > 0) this.s.rxBatches++;
    // Stopped at the budget: more may wait, after the loop's other work (resume() drains if paused).
    if (!this.paused) this.scheduleDrain();
  }

  /** Waits for the read event on the threadpool; a drain follows when it is signalled. */
  private arm(): void {
    if (this.waiting || this.closed || this.failed || this.paused) return;
    this.waiting = true;
    const { readEvent, cancelEvent } = this.h;
    void this.api.waitForAny([readEvent, cancelEvent], WaitResult.INFINITE).then(
      ({ result, error }) => {
        this.waiting = false;
        if (this.closed) this.release();
        else if (result === WaitResult.OBJECT_0) this.drain();
        else if (result === WaitResult.FAILED) this.fail(win32Failure('WaitForMultipleObjects', error));
        else this.arm();
      },
      (err: unknown) => {
        this.waiting = false;
        if (this.closed) this.release();
        else this.fail(new TandemError(ErrorCodes.TUN, `${this.name}: cannot wait for packets`, { cause: err }));
      },
    );
  }

  private fail(err: TandemError): void {
    if (this.failed) return;
    this.failed = true;
    this.onError?.(err);
  }

  /** Sends one packet; false when the ring is full (dropped) or the adapter has failed. */
  write(packet: Uint8Array): boolean {
    if (this.closed || this.failed) return false;
    const n = packet.byteLength;
    if (n === 0 || n > MAX_PACKET) {
      // Not an IP packet Wintun can carry: lost, as a malformed write is on Linux.
      this.s.txErrors++;
      return true;
    }
    const slot = this.api.WintunAllocateSendPacket(this.h.session, n);
    if (slot === null) {
      const code = this.api.GetLastError();
      if (code === Win32Error.BUFFER_OVERFLOW) {
        this.s.txDropped++;
        return false;
      }
      this.s.txErrors++;
      this.fail(win32Failure('WintunAllocateSendPacket', code, readFailure(code)));
      return false;
    }
    this.api.view(slot, n).set(packet);
    this.api.WintunSendPacket(this.h.session, slot);
    this.s.txPackets++;
    this.s.txBytes += n;
    return true;
  }

  /** Nothing is ever queued: the listener runs on the next turn of the loop (never after close). */
  onceWriteDrained(listener: () => void): () => void {
    if (this.closed) return () => {};
    const immediate = setImmediate(() => {
      if (!this.closed) listener();
    });
    return () => clearImmediate(immediate);
  }

  /** Stops reading; packets wait in the ring (Wintun drops what does not fit). */
  pause(): void {
    this.paused = true;
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.onPacket) this.scheduleDrain();
  }

  /**
   * Stops reading, ends the session and closes the adapter (which removes it). A wait still on the
   * threadpool is woken through the cancel event first and the session ends when it returns:
   * the session's read event must not vanish under a waiting thread.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    if (!this.waiting) {
      this.release();
      return;
    }
    if (!this.api.SetEvent(this.h.cancelEvent)) {
      // The waiting thread cannot be woken: the session stays until the process exits.
      throw win32Failure('SetEvent', this.api.GetLastError(), `${this.name}: the session stays open`);
    }
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.api.WintunEndSession(this.h.session);
    this.api.WintunCloseAdapter(this.h.adapter);
    this.api.CloseHandle(this.h.cancelEvent);
  }

  /** A copy of the counters. */
  stats(): TunStats {
    return { ...this.s };
  }
}

function readFailure(code: number): string | undefined {
  if (code === Win32Error.HANDLE_EOF) return 'the adapter is gone';
  if (code === Win32Error.INVALID_DATA) return 'the ring is corrupt';
  return undefined;
}
