/**
 * A deliberately small, strict HTTP/1.1 request reader for the gateway's control plane.
 * Node's http module is not used because CONNECT must hand the raw TLS socket (with any bytes
 * already read) to the CSTP layer, and because a test gateway should refuse sloppy input
 * loudly: caps on header and body size, a deadline per request, CRLF line endings only, no
 * chunked bodies, no obsolete header folding.
 */
import type { Duplex } from 'node:stream';

/** Header block cap (request line + headers). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Body cap. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Most header lines accepted. */
export const MAX_HEADER_LINES = 100;

/** A parsed request. Header names are lower case; repeated headers keep every value. */
export interface HttpRequest {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** A request we refuse; `status` and `reason` become the response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly detail: string = reason,
  ) {
    super(detail);
  }
}

/** First value of a header, or undefined. */
export function header(req: HttpRequest, name: string): string | undefined {
  return req.headers.get(name.toLowerCase())?.[0];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([A-Z]{1,16}) (\S{1,2048}) (HTTP\/1\.[01])$/;

/** Parses one header block (without the final CRLFCRLF). Exported for unit tests. */
export function parseHead(head: string): Omit<HttpRequest, 'body'> {
  const lines = head.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) throw new HttpError(400, 'Bad Request', 'malformed request line');
  if (lines.length - 1 > MAX_HEADER_LINES)
    throw new HttpError(431, 'Request Header Fields Too Large', 'too many header lines');
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (/[\r\n\0]/.test(line)) throw new HttpError(400, 'Bad Request', 'bare CR, LF or NUL in header');
    if (/^[ \t]/.test(line)) throw new HttpError(400, 'Bad Request', 'obsolete header folding');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HttpError(400, 'Bad Request', 'malformed header line');
    const value = line.slice(colon + 1).trim();
    const key = name.toLowerCase();
    headers.set(key, [...(headers.get(key) ?? []), value]);
  }
  return { method: m[1] as string, target: m[2] as string, version: m[3] as string, headers };
}

function bodyLength(req: Omit<HttpRequest, 'body'>): number {
  if (req.headers.has('transfer-encoding'))
    throw new HttpError(501, 'Not Implemented', 'Transfer-Encoding is not supported');
  const values = req.headers.get('content-length');
  if (!values) return 0;
  if (values.length !== 1 || !/^\d{1,9}$/.test(values[0] as string))
    throw new HttpError(400, 'Bad Request', 'invalid Content-Length');
  const n = Number(values[0]);
  if (n > MAX_BODY_BYTES) throw new HttpError(413, 'Payload Too Large', `body of ${n} bytes exceeds ${MAX_BODY_BYTES}`);
  return n;
}

/**
 * Reads requests one at a time from a socket. After a request, the bytes that followed it stay
 * buffered for the next call or are handed over with {@link RequestReader.detach}.
 */
export class RequestReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    // Stop reading while over the cap so a flood cannot grow memory; the parser rejects it.
    if (this.buffered.length > MAX_HEADER_BYTES + MAX_BODY_BYTES + 4) this.socket.pause();
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(
    private readonly socket: Duplex,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async more(deadline: number): Promise<void> {
    if (this.ended) throw new HttpError(400, 'Bad Request', 'connection closed mid-request');
    const left = deadline - Date.now();
    if (left <= 0) throw new HttpError(408, 'Request Timeout', 'request not received in time');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve();
      }, left);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The next request, or null when the peer closed cleanly between requests. */
  async next(): Promise<HttpRequest | null> {
    const deadline = Date.now() + this.timeoutMs;
    let end: number;
    for (;;) {
      end = this.buffered.indexOf('\r\n\r\n');
      if (end >= 0) break;
      if (this.buffered.length > MAX_HEADER_BYTES)
        throw new HttpError(431, 'Request Header Fields Too Large', `headers exceed ${MAX_HEADER_BYTES} bytes`);
      if (this.ended && this.buffered.length === 0) return null;
      await this.more(deadline);
    }
    if (end > MAX_HEADER_BYTES)
      throw new HttpError(431, 'Request Header Fields Too Large', `headers exceed ${MAX_HEADER_BYTES} bytes`);
    const head = parseHead(this.buffered.subarray(0, end).toString('latin1'));
    const length = bodyLength(head);
    const start = end + 4;
    while (this.buffered.length < start + length) await this.more(deadline);
    const body = Buffer.from(this.buffered.subarray(start, start + length));
    this.buffered = this.buffered.subarray(start + length);
    return { ...head, body };
  }

  /** Stops reading and returns any bytes received after the last request. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}

/**
 * Serialises a response head (and body) in one buffer so it goes out in one write.
 * `Content-Length` is added unless `tunnel` is set (a CONNECT success has no HTTP body: the
 * stream switches to CSTP right after the blank line).
 */
export function formatResponse(
  status: number,
  reason: string,
  headers: Array<[string, string]>,
  body: Buffer | string = '',
  tunnel = false,
): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [k, v] of headers) lines.push(`${k}: ${v.replace(/[\r\n]+/g, ' ')}`);
  if (!tunnel) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}
