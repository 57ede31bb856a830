/**
 * The CSTP frame writer: how the session writes its frames (DPD, keepalive, DISCONNECT, and DATA
 * on a socket without a packet pump) to the tunnel's TLS connection.
 *
 * INVARIANT: one CSTP frame per TLS record. ocserv parses each TLS record as exactly one CSTP
 * packet and kills the session on a mismatch ("unexpected CSTP length"), and openconnect drops
 * such records (docs/protocol.md#one-frame-per-tls-record). Node's TLSSocket merges data that queues up while a write is in
 * flight into one record, and `cork()/uncork()` merges on purpose, so the writer:
 *   - calls `socket.write()` with exactly one frame,
 *   - never has more than one write pending: the next frame is written only from the previous
 *     write's callback,
 *   - never corks and never uses `writev`.
 * (A TlsClient writes one record per write() anyway; the pacing matters for Node's TLSSocket.)
 * DATA from the TUN normally bypasses it: the native pump seals one record per frame and sends a
 * batch per socket write (@tandem/dtls).
 */

/** Frames queued before {@link FrameWriter.write} reports back-pressure. */
export const WRITER_HIGH_WATER = 512;
/** Queue length at which a congested writer reports `drain`. */
export const WRITER_LOW_WATER = 64;

/** Serialises frames onto a socket, one record each. */
export class FrameWriter {
  private readonly queue: Buffer[] = [];
  private inFlight = false;
  private stopped = false;
  private congested = false;
  private idleWaiters: Array<() => void> = [];
  /** Bytes handed to the socket so far. */
  bytesOut = 0;
  /** Time of the last write (for the keepalive timer). */
  lastWriteAt = Date.now();

  constructor(
    private readonly socket: { write(data: Uint8Array, cb: (err?: Error | null) => void): unknown },
    private readonly onError: (err: Error) => void,
    private readonly onDrain: () => void = () => {},
  ) {}

  /** Queues one complete frame; returns false while the queue is above the high-water mark. */
  write(frame: Buffer): boolean {
    if (this.stopped) return false;
    this.queue.push(frame);
    if (this.queue.length >= WRITER_HIGH_WATER) this.congested = true;
    if (!this.inFlight) this.next();
    return !this.congested;
  }

  /** Frames waiting (not counting the one in flight). */
  get pending(): number {
    return this.queue.length;
  }

  /** True while nothing is queued or in flight. */
  get idle(): boolean {
    return !this.inFlight && this.queue.length === 0;
  }

  /** Resolves when everything queued so far was written, or after `timeoutMs`. */
  flushed(timeoutMs: number): Promise<void> {
    if (this.idle || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Drops the queue; later writes are ignored. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.wakeIdle();
  }

  private next(): void {
    const frame = this.queue.shift();
    if (!frame || this.stopped) {
      this.inFlight = false;
      this.wakeIdle();
      return;
    }
    this.inFlight = true;
    this.bytesOut += frame.length;
    this.lastWriteAt = Date.now();
    this.socket.write(frame, (err) => {
      if (err) {
        this.inFlight = false;
        this.stop();
        this.onError(err);
        return;
      }
      if (this.congested && this.queue.length <= WRITER_LOW_WATER) {
        this.congested = false;
        this.onDrain();
      }
      this.next();
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
