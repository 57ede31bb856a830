/**
 * Serialised frame output on a TLS socket. Peers parse each TLS record as exactly one CSTP
 * packet (docs/protocol.md#one-frame-per-tls-record), and Node coalesces writes issued in the same tick into one record, so
 * every frame is its own write() and the next write starts only after the previous one's
 * callback. A bounded queue drops data packets (never control frames) under overload, like a
 * congested link would, instead of growing without limit.
 */
import type { Writable } from 'node:stream';
import { encodeFrame, PacketType, type PacketTypeCode } from '@tandem/anyconnect';

/** Queued data frames beyond this are dropped. */
export const MAX_QUEUED_DATA = 512;

/** One-frame-per-write queue for a CSTP connection. */
export class FrameWriter {
  private readonly queue: Buffer[] = [];
  private writing = false;
  private closed = false;
  private dataQueued = 0;
  /** Data frames dropped because the queue was full. */
  dropped = 0;

  constructor(private readonly socket: Writable) {}

  /** Queues one frame. Returns false when it was dropped or the writer is closed. */
  send(type: PacketTypeCode, payload: Buffer = Buffer.alloc(0)): boolean {
    if (this.closed) return false;
    if (type === PacketType.DATA) {
      if (this.dataQueued >= MAX_QUEUED_DATA) {
        this.dropped++;
        return false;
      }
      this.dataQueued++;
    }
    const frame = encodeFrame(type, payload);
    this.queue.push(frame);
    this.pump();
    return true;
  }

  /** Resolves when every queued frame has been written. */
  async flush(): Promise<void> {
    while ((this.writing || this.queue.length > 0) && !this.closed) await new Promise((r) => setTimeout(r, 2));
  }

  /** Stops writing; queued frames are discarded. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private pump(): void {
    if (this.writing || this.closed) return;
    const frame = this.queue.shift();
    if (!frame) return;
    if (frame[6] === PacketType.DATA) this.dataQueued--;
    this.writing = true;
    this.socket.write(frame, (err) => {
      this.writing = false;
      if (err) {
        this.close();
        return;
      }
      this.pump();
    });
  }
}
