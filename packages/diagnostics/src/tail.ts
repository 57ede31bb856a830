/**
 * Keeping the tail of a file: a log's latest lines are the ones that explain the problem. Input
 * is read with bounded memory (at most the cap plus one chunk), whatever its length, and a cut
 * always starts on a line (or at least a character) boundary.
 */
import type { Readable } from 'node:stream';

/** Content for a bundle file. */
export type BundleData = string | Buffer | Readable | AsyncIterable<Uint8Array>;

/** The kept end of an input. */
export interface Tail {
  bytes: Buffer;
  text: string;
  /** Bytes in the whole input. */
  size: number;
  truncated: boolean;
}

/** The last `cap` bytes of `buf`, starting on a line when there is one, never mid-character. */
function cut(buf: Buffer, cap: number): Buffer {
  if (buf.length <= cap) return buf;
  let start = buf.length - cap;
  // Drop the partial first line, so no rule sees half a `password=` or half a header.
  const nl = buf.indexOf(0x0a, start);
  if (nl !== -1 && nl + 1 < buf.length) start = nl + 1;
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start);
}

/** Reads `data` keeping at most its last `cap` bytes. */
export async function readTail(data: BundleData, cap: number): Promise<Tail> {
  let whole: Buffer;
  let size: number;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    whole = typeof data === 'string' ? Buffer.from(data) : data;
    size = whole.length;
  } else {
    const chunks: Buffer[] = [];
    let held = 0;
    size = 0;
    for await (const chunk of data) {
      const b = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      chunks.push(b);
      held += b.length;
      size += b.length;
      // Drop whole chunks from the front while what is left still covers the cap.
      while (chunks.length > 1 && held - (chunks[0]?.length ?? 0) >= cap) held -= chunks.shift()?.length ?? 0;
    }
    whole = Buffer.concat(chunks, held);
  }
  const bytes = cut(whole, cap);
  return { bytes, text: bytes.toString('utf8'), size, truncated: bytes.length < size };
}

/** The last `cap` bytes of already redacted text, as UTF-8. */
export function tailText(text: string, cap: number): Buffer {
  return cut(Buffer.from(text), cap);
}
