/**
 * A strict, bounded HTTP/1.1 client for one request on a TLS socket we own.
 *
 * Why not undici: the CONNECT that opens the tunnel must leave us holding the raw TLS socket
 * (the CSTP stream follows the response head) and we need `exportKeyingMaterial` on it later.
 * Caps mirror ocserv's own limits (headers 16 KiB, body 256 KiB) and every request has a
 * deadline, so a hostile gateway gets a typed error, never a hang or an unbounded buffer.
 */
import type { TlsClient } from '@tandem/dtls';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Limits applied to every response. */
export const HTTP_LIMITS = { headerBytes: 16 * 1024, headers: 100, bodyBytes: 256 * 1024 } as const;

/** A parsed response. `body` is the exact bytes received (after de-chunking). */
export interface HttpResponse {
  status: number;
  reason: string;
  /** From the status line; absent only in hand-built responses. */
  httpVersion?: '1.0' | '1.1';
  /** Header names lower-cased, in arrival order; repeated headers are kept. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Bytes that followed the response (the CSTP stream after `200 CONNECTED`). */
  rest: Buffer;
}

/** One request to send. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'CONNECT';
  path: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** For CONNECT: stop after the head, leaving the stream to the caller. */
  headOnly?: boolean;
  /**
   * Head limits for this request. A CONNECT answer carries one header per route, DNS server
   * and domain, so it gets {@link CONNECT_HEAD_LIMITS}; auth answers keep the tight defaults.
   */
  limits?: { headerBytes: number; headers: number };
}

/** Head limits of a CONNECT response: room for the tunnel configuration's route cap (1000 each way). */
export const CONNECT_HEAD_LIMITS = { headerBytes: 256 * 1024, headers: 2500 } as const;

/**
 * Whether the connection may carry another request after `res`: HTTP/1.1 without a `close`
 * token, and nothing unread after the body. (Like openconnect, a `Keep-Alive` in HTTP/1.0 is
 * not trusted.)
 */
export function keepsAlive(res: Pick<HttpResponse, 'httpVersion' | 'headers' | 'rest'>): boolean {
  if (res.httpVersion !== '1.1' || res.rest.length > 0) return false;
  return !headerValues(res, 'connection').some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'close'));
}

/**
 * True for the error {@link exchange} gives when the peer closed the connection before a single
 * response byte: on a re-used keep-alive connection that is almost always the gateway having
 * dropped it while idle, and HTTP clients send the request once more on a new connection.
 */
export function closedBeforeResponse(err: unknown): boolean {
  return err instanceof TandemError && err.code === ErrorCodes.PROTOCOL && err.details['beforeResponse'] === true;
}

/** All values of a header (name compared case-insensitively). */
export function headerValues(res: Pick<HttpResponse, 'headers'>, name: string): string[] {
  const n = name.toLowerCase();
  return res.headers.filter(([k]) => k === n).map(([, v]) => v);
}

/** The first value of a header, or undefined. */
export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  return headerValues(res, name)[0];
}

function protocolError(message: string): TandemError {
  return new TandemError(ErrorCodes.PROTOCOL, `gateway HTTP: ${message}`);
}

/** Serialises a request; refuses header values that could split the request. */
export function encodeRequest(req: HttpRequest): Buffer {
  const lines = [`${req.method} ${req.path} HTTP/1.1`];
  for (const [k, v] of req.headers) {
    if (/[\r\n\0]/.test(k) || /[\r\n\0]/.test(v)) throw protocolError(`refusing a header with a line break (${k})`);
    lines.push(`${k}: ${v}`);
  }
  if (req.body) lines.push(`Content-Length: ${req.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return req.body ? Buffer.concat([head, req.body]) : head;
}

/** Parses a response head (status line + headers) from its exact bytes. */
export function parseHead(head: Buffer, maxHeaders: number = HTTP_LIMITS.headers): Omit<HttpResponse, 'body' | 'rest'> {
  const text = head.toString('latin1');
  if (/[\0]/.test(text)) throw protocolError('NUL byte in the response head');
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!status) throw protocolError(`bad status line "${(lines[0] ?? '').slice(0, 80)}"`);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.includes('\n') || line.includes('\r')) throw protocolError('bare line break inside a header');
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon)))
      throw protocolError(`malformed header line "${line.slice(0, 60)}"`);
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    if (headers.length > maxHeaders) throw protocolError(`more than ${maxHeaders} headers`);
  }
  return {
    status: Number(status[1]),
    reason: status[2] ?? '',
    httpVersion: lines[0]!.startsWith('HTTP/1.1') ? '1.1' : '1.0',
    headers,
  };
}

/** Decodes a complete chunked body, or returns null when more bytes are needed. */
function dechunk(buf: Buffer): { body: Buffer; used: number } | null {
  const parts: Buffer[] = [];
  let off = 0;
  let total = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) {
      if (buf.length - off > 32) throw protocolError('bad chunk size line');
      return null;
    }
    const sizeText = buf.subarray(off, eol).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw protocolError(`bad chunk size "${sizeText.slice(0, 20)}"`);
    const size = parseInt(sizeText, 16);
    total += size;
    if (total > HTTP_LIMITS.bodyBytes) throw protocolError(`body larger than ${HTTP_LIMITS.bodyBytes} bytes`);
    const start = eol + 2;
    if (size === 0) {
      // Trailers are not expected from VPN gateways; require the empty line.
      const end = buf.indexOf('\r\n', start);
      if (end < 0) return null;
      if (end !== start) throw protocolError('chunked trailers are not supported');
      return { body: Buffer.concat(parts), used: end + 2 };
    }
    if (buf.length < start + size + 2) return null;
    if (buf[start + size] !== 0x0d || buf[start + size + 1] !== 0x0a) throw protocolError('chunk not followed by CRLF');
    parts.push(buf.subarray(start, start + size));
    off = start + size + 2;
  }
}

/**
 * Sends one request on `socket` and reads the response within `deadlineMs`. The socket is not
 * closed here: the caller decides (auth requests close it; CONNECT keeps it).
 */
export function exchange(socket: TlsClient, req: HttpRequest, deadlineMs: number): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let head: Omit<HttpResponse, 'body' | 'rest'> | null = null;
    let bodyStart = 0;
    const timer = setTimeout(
      () =>
        finish(
          new TandemError(
            ErrorCodes.GATEWAY_TIMEOUT,
            `gateway did not answer ${req.method} ${req.path} within ${deadlineMs} ms`,
          ),
        ),
      deadlineMs,
    );
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        step();
      } catch (err) {
        finish(err as Error);
      }
    };
    const onEnd = (): void =>
      finish(
        new TandemError(ErrorCodes.PROTOCOL, `gateway closed the connection during ${req.method} ${req.path}`, {
          details: { beforeResponse: buf.length === 0 },
        }),
      );
    const onError = (err: Error): void =>
      finish(
        new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, `connection to the gateway failed: ${err.message}`, {
          cause: err,
        }),
      );
    function finish(result: Error | HttpResponse): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    const limits = req.limits ?? HTTP_LIMITS;
    function step(): void {
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > limits.headerBytes)
            throw protocolError(`response head larger than ${limits.headerBytes} bytes`);
          return;
        }
        if (end > limits.headerBytes) throw protocolError(`response head larger than ${limits.headerBytes} bytes`);
        head = parseHead(buf.subarray(0, end), limits.headers);
        bodyStart = end + 4;
        if (req.headOnly) {
          // Hold the stream: CSTP frames that arrive before the session attaches its reader
          // would otherwise be emitted to no one and lost. CstpSession resumes it.
          socket.pause();
          finish({ ...head, body: Buffer.alloc(0), rest: Buffer.from(buf.subarray(bodyStart)) });
          return;
        }
      }
      const rest = buf.subarray(bodyStart);
      const te = header(head, 'transfer-encoding');
      if (te !== undefined) {
        if (te.toLowerCase() !== 'chunked') throw protocolError(`unsupported transfer-encoding "${te.slice(0, 30)}"`);
        const done = dechunk(rest);
        if (done) finish({ ...head, body: Buffer.from(done.body), rest: Buffer.from(rest.subarray(done.used)) });
        return;
      }
      const cl = headerValues(head, 'content-length');
      if (cl.length > 1 && new Set(cl).size > 1) throw protocolError('conflicting Content-Length headers');
      if (cl.length) {
        if (!/^\d{1,9}$/.test(cl[0]!)) throw protocolError(`bad Content-Length "${cl[0]!.slice(0, 20)}"`);
        const len = Number(cl[0]);
        if (len > HTTP_LIMITS.bodyBytes) throw protocolError(`body larger than ${HTTP_LIMITS.bodyBytes} bytes`);
        if (rest.length >= len)
          finish({ ...head, body: Buffer.from(rest.subarray(0, len)), rest: Buffer.from(rest.subarray(len)) });
        return;
      }
      // No length: only a bodiless status can end here; otherwise the body runs to close.
      if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) {
        finish({ ...head, body: Buffer.alloc(0), rest: Buffer.from(rest) });
        return;
      }
      if (rest.length > HTTP_LIMITS.bodyBytes) throw protocolError(`body larger than ${HTTP_LIMITS.bodyBytes} bytes`);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.once('end', () => finish({ ...head!, body: Buffer.from(buf.subarray(bodyStart)), rest: Buffer.alloc(0) }));
    }
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    socket.write(encodeRequest(req));
  });
}
