/**
 * CSTP framing on the TLS stream (docs/protocol.md#cstp-framing).
 *
 *   offset 0  'S' 'T' 'F' 0x01   magic
 *   offset 4  uint16 BE          payload length (header excluded)
 *   offset 6  uint8              packet type
 *   offset 7  0x00               must be zero
 *   offset 8  payload
 *
 * The decoder is fed arbitrary chunks (Node gives a byte stream even though peers send one
 * frame per TLS record) and never buffers more than one maximum frame.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** CSTP packet types. Codes 1, 2 and 6 are undefined in every known implementation. */
export const PacketType = {
  DATA: 0x00,
  DPD_REQ: 0x03,
  DPD_RESP: 0x04,
  DISCONNECT: 0x05,
  KEEPALIVE: 0x07,
  COMPRESSED: 0x08,
  TERMINATE: 0x09,
} as const;

/** One of the {@link PacketType} codes. */
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

const KNOWN_TYPES = new Set<number>(Object.values(PacketType));

/** Size of the CSTP header in bytes. */
export const CSTP_HEADER_LEN = 8;
/** Largest payload the 16-bit length field can express. */
export const CSTP_MAX_PAYLOAD = 0xffff;
/** First payload byte of a client DISCONNECT that ends the session (cookie invalidated). */
export const DISCONNECT_REASON_LOGOUT = 0xb0;

/** A decoded frame. `payload` is a view into the decoder's buffer: copy it to keep it. */
export interface CstpFrame {
  type: PacketTypeCode;
  payload: Buffer;
}

/** Encodes one frame (header + payload) into a fresh buffer. */
export function encodeFrame(type: PacketTypeCode, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > CSTP_MAX_PAYLOAD) {
    throw new TandemError(ErrorCodes.PROTOCOL, `CSTP payload of ${payload.length} bytes exceeds ${CSTP_MAX_PAYLOAD}`);
  }
  const out = Buffer.allocUnsafe(CSTP_HEADER_LEN + payload.length);
  writeHeader(out, 0, type, payload.length);
  payload.copy(out, CSTP_HEADER_LEN);
  return out;
}

/** Writes a CSTP header at `offset` (used by the data path to frame in place). */
export function writeHeader(buf: Buffer, offset: number, type: PacketTypeCode, length: number): void {
  buf[offset] = 0x53;
  buf[offset + 1] = 0x54;
  buf[offset + 2] = 0x46;
  buf[offset + 3] = 0x01;
  buf.writeUInt16BE(length, offset + 4);
  buf[offset + 6] = type;
  buf[offset + 7] = 0;
}

/** A client logout DISCONNECT: `0xb0` followed by an ASCII reason. */
export function encodeLogout(reason: string): Buffer {
  const text = Buffer.from(reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200), 'ascii');
  return encodeFrame(PacketType.DISCONNECT, Buffer.concat([Buffer.from([DISCONNECT_REASON_LOGOUT]), text]));
}

/** Options for {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest payload accepted; longer frames are a protocol error. Default: the 16-bit maximum. */
  maxPayload?: number;
  /** Accept type 0x08 (only when compression was negotiated). Default false. */
  allowCompressed?: boolean;
}

/**
 * Incremental decoder. Call {@link FrameDecoder.push} with each chunk; it returns the complete
 * frames in order and throws a `E_PROTOCOL` {@link TandemError} on a bad magic, a non-zero
 * reserved byte, an unknown type or an over-long frame.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private readonly maxPayload: number;
  private readonly allowCompressed: boolean;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxPayload = Math.min(options.maxPayload ?? CSTP_MAX_PAYLOAD, CSTP_MAX_PAYLOAD);
    this.allowCompressed = options.allowCompressed ?? false;
  }

  /** Bytes held waiting for the rest of a frame (never more than one maximum frame). */
  get buffered(): number {
    return this.pending.length;
  }

  /** Hands over (and forgets) the bytes held for an incomplete frame, e.g. to a native decoder. */
  takePending(): Buffer {
    const held = this.pending;
    this.pending = Buffer.alloc(0);
    return held;
  }

  /** Feeds a chunk; returns every frame completed by it. */
  push(chunk: Buffer): CstpFrame[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: CstpFrame[] = [];
    let off = 0;
    while (buf.length - off >= CSTP_HEADER_LEN) {
      this.checkHeader(buf, off);
      const len = buf.readUInt16BE(off + 4);
      if (buf.length - off < CSTP_HEADER_LEN + len) break;
      frames.push({
        type: buf[off + 6] as PacketTypeCode,
        payload: buf.subarray(off + CSTP_HEADER_LEN, off + CSTP_HEADER_LEN + len),
      });
      off += CSTP_HEADER_LEN + len;
    }
    if (off < buf.length && buf.length - off < CSTP_HEADER_LEN) {
      // Validate the partial header bytes we already have so garbage fails fast.
      const magic = [0x53, 0x54, 0x46, 0x01];
      for (let i = off; i < buf.length && i - off < 4; i++) {
        if (buf[i] !== magic[i - off]) throw this.error('bad CSTP magic');
      }
    }
    buf = buf.subarray(off);
    // Copy the tail so the caller's chunk (and frames already returned) are not retained.
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    return frames;
  }

  private checkHeader(buf: Buffer, off: number): void {
    if (buf[off] !== 0x53 || buf[off + 1] !== 0x54 || buf[off + 2] !== 0x46 || buf[off + 3] !== 0x01) {
      throw this.error('bad CSTP magic');
    }
    if (buf[off + 7] !== 0) throw this.error('non-zero CSTP reserved byte');
    const type = buf[off + 6] as number;
    if (!KNOWN_TYPES.has(type)) throw this.error(`unknown CSTP packet type 0x${type.toString(16).padStart(2, '0')}`);
    if (type === PacketType.COMPRESSED && !this.allowCompressed)
      throw this.error('compressed CSTP packet without negotiated compression');
    const len = buf.readUInt16BE(off + 4);
    if (len > this.maxPayload) throw this.error(`CSTP frame of ${len} bytes exceeds the limit of ${this.maxPayload}`);
  }

  private error(message: string): TandemError {
    return new TandemError(ErrorCodes.PROTOCOL, message);
  }
}
