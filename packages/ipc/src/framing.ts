/**
 * Newline-delimited JSON framing shared by both halves.
 *
 * Limits are enforced while bytes arrive, before any JSON parsing: a frame longer than the cap
 * is reported as oversized as soon as the buffered bytes pass the cap (so a peer cannot make us
 * buffer an endless line), UTF-8 is decoded strictly, and nesting depth is measured by a linear
 * scan so `JSON.parse` never sees a nesting bomb.
 */

/** Deepest object/array nesting accepted in a frame. */
export const MAX_JSON_DEPTH = 32;

/** What {@link FrameReader.push} yields for each complete (or failed) frame. */
export type FrameChunk =
  { kind: 'frame'; text: string } | { kind: 'invalid'; reason: string } | { kind: 'oversize'; bytes: number };

const NL = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits a byte stream into frames. After an `oversize` result the reader is poisoned and
 * yields nothing more: the caller is expected to close the connection, because the rest of the
 * stream can no longer be resynchronised reliably.
 *
 * The cap may be a function: the agent's depends on the connection's state (see frame-caps.ts)
 * and is asked again for every chunk.
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private size = 0;
  private poisoned = false;

  constructor(private readonly cap: number | (() => number)) {}

  /** The cap in force now, in bytes per frame (newline excluded). */
  get maxBytes(): number {
    return typeof this.cap === 'number' ? this.cap : this.cap();
  }

  /**
   * Feeds received bytes and yields the frames they complete, in order. Lazily: the consumer
   * handles each frame before the next is cut, so a frame that changes the cap (a `hello`)
   * counts for the frames after it in the same chunk.
   */
  *push(chunk: Buffer): Generator<FrameChunk, void, undefined> {
    if (this.poisoned) return;
    let start = 0;
    while (start < chunk.length) {
      // Asked per frame: a frame can change the cap for the next one (hello, a reverse request).
      const max = this.maxBytes;
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.size + (end - start) > max) {
        this.poisoned = true;
        const bytes = this.size + (end - start);
        this.parts = [];
        this.size = 0;
        yield { kind: 'oversize', bytes };
        return;
      }
      if (nl === -1) {
        this.parts.push(chunk.subarray(start));
        this.size += chunk.length - start;
        break;
      }
      const line =
        this.parts.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...this.parts, chunk.subarray(start, nl)]);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      const decoded = decodeLine(line);
      if (decoded !== null) yield decoded;
    }
  }

  /** Bytes currently buffered for an incomplete frame (never more than the cap). */
  get buffered(): number {
    return this.size;
  }
}

function decodeLine(line: Buffer): FrameChunk | null {
  // Tolerate CRLF from hand-typed sessions (socat); blank lines are keep-alives and ignored.
  const body = line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
  if (body.length === 0) return null;
  try {
    return { kind: 'frame', text: utf8.decode(body) };
  } catch {
    return { kind: 'invalid', reason: 'frame is not valid UTF-8' };
  }
}

/** Nesting depth of a JSON text, counted outside strings; stops early past `limit`. */
export function jsonDepth(text: string, limit: number = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The result of {@link parseFrame}. */
export type ParsedFrame = { ok: true; value: unknown } | { ok: false; reason: string };

/** Parses one frame's text as JSON after the depth check. Never throws. */
export function parseFrame(text: string, maxDepth: number = MAX_JSON_DEPTH): ParsedFrame {
  if (jsonDepth(text, maxDepth) > maxDepth) return { ok: false, reason: `nesting deeper than ${maxDepth}` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'frame is not valid JSON' };
  }
}

/** Serialises one message as a frame (JSON plus the newline terminator). */
export function encodeFrame(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}
