/**
 * The message envelopes on the wire and the only code that classifies raw JSON into them.
 * Both halves use it, so a frame is recognised the same way on each side.
 *
 *   client → agent   {id, method, params}                request
 *   agent → client   {id, result} | {id, error}          response (id null when unattributable)
 *   agent → client   {event, seq, data}                  event
 *   agent → client   {rid, request, params}              reverse request
 *   client → agent   {rid, result} | {rid, error}        reverse response
 */
import { ErrorCodes, type ErrorCode, TandemError, isTandemError } from '@tandem/common';

/** A request id chosen by the client: a safe integer or a short string. */
export type RequestId = number | string;

/**
 * Who is at the other end of a connection, as the operating system recorded it at accept:
 * `SO_PEERCRED` (Linux), `LOCAL_PEERCRED` (macOS) or the named pipe client's token (Windows).
 * One shape for every platform, so one permission table serves them all.
 */
export interface PeerCredentials {
  /** The connecting process. Informational: no decision is made from a pid. */
  pid: number;
  /**
   * The Unix uid. On Windows a number the agent gives each user SID for as long as it runs
   * (LocalSystem 0, everyone else from 2^30 up), so what the agent keeps per user (connection
   * caps, tunnel ownership, diagnostics) works unchanged; it means nothing outside the agent.
   */
  uid: number;
  /** The Unix primary gid; -1 on Windows, where group membership arrives as {@link admin}. */
  gid: number;
  /**
   * The platform-neutral user key: the uid in decimal on Unix, the user SID on Windows. Every
   * reader sets it; credentials built by hand (tests) may leave it out ({@link peerUser}).
   */
  user?: string;
  /**
   * Set by the Windows reader: the token is LocalSystem's or an elevated member of
   * BUILTIN\Administrators. Unix readers leave it unset: uid 0 and the admin group decide there.
   */
  admin?: boolean;
}

/** The platform-neutral user key of `cred` (its `user`, or the uid in decimal). */
export function peerUser(cred: Readonly<PeerCredentials>): string {
  return cred.user ?? String(cred.uid);
}

/** An error as carried on the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** A call from a client. */
export interface RequestFrame {
  id: RequestId;
  method: string;
  params: unknown;
}
/** The agent's answer to a call. */
export type ResponseFrame = { id: RequestId | null; result: unknown } | { id: RequestId | null; error: WireError };
/** A pushed event. */
export interface EventFrame {
  event: string;
  seq: number;
  data: unknown;
}
/** A request from the agent to the client. */
export interface ReverseRequestFrame {
  rid: number;
  request: string;
  params: unknown;
}
/** The client's answer to a reverse request. */
export type ReverseResponseFrame = { rid: number; result: unknown } | { rid: number; error: WireError };

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));
const MAX_NAME = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isRequestId(v: unknown): v is RequestId {
  return (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v.length <= MAX_NAME);
}
function isRid(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function onlyKeys(v: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(v).every((k) => allowed.includes(k));
}

/** Parses a wire error; anything malformed becomes an E_INTERNAL describing the problem. */
export function readWireError(v: unknown): WireError {
  if (!isObject(v) || typeof v.code !== 'string' || typeof v.message !== 'string') {
    return { code: ErrorCodes.INTERNAL, message: 'peer sent a malformed error' };
  }
  const code = KNOWN_CODES.has(v.code) ? (v.code as ErrorCode) : ErrorCodes.INTERNAL;
  const out: WireError = { code, message: v.message.slice(0, 4096) };
  if (isObject(v.details)) out.details = v.details;
  return out;
}

/** Turns a wire error into the TandemError callers branch on. */
export function errorFromWire(e: WireError): TandemError {
  return new TandemError(e.code, e.message, { details: e.details ?? {} });
}

/** Turns anything thrown into a wire error; non-Tandem errors are not described (no internals leak). */
export function toWireError(err: unknown): WireError {
  if (isTandemError(err)) {
    const out: WireError = { code: err.code, message: err.message };
    if (Object.keys(err.details).length > 0) out.details = err.details;
    return out;
  }
  return { code: ErrorCodes.INTERNAL, message: 'internal error in the agent' };
}

/** What the agent received: a call, an answer to one of its reverse requests, or junk. */
export type InboundAtAgent =
  | { kind: 'request'; frame: RequestFrame }
  | { kind: 'reverse-response'; frame: ReverseResponseFrame }
  | { kind: 'invalid'; id: RequestId | null; reason: string };

/** Classifies a parsed frame received by the agent. */
export function classifyAtAgent(v: unknown): InboundAtAgent {
  if (!isObject(v)) return { kind: 'invalid', id: null, reason: 'frame is not an object' };
  if ('method' in v || 'id' in v) {
    const id = isRequestId(v.id) ? v.id : null;
    if (id === null) return { kind: 'invalid', id: null, reason: 'missing or invalid id' };
    if (typeof v.method !== 'string' || v.method.length === 0 || v.method.length > MAX_NAME) {
      return { kind: 'invalid', id, reason: 'missing or invalid method' };
    }
    if (!onlyKeys(v, ['id', 'method', 'params'])) return { kind: 'invalid', id, reason: 'unexpected field in request' };
    return { kind: 'request', frame: { id, method: v.method, params: v.params === undefined ? {} : v.params } };
  }
  if ('rid' in v && isRid(v.rid)) {
    if ('result' in v && !('error' in v) && onlyKeys(v, ['rid', 'result']))
      return { kind: 'reverse-response', frame: { rid: v.rid, result: v.result } };
    if ('error' in v && !('result' in v) && onlyKeys(v, ['rid', 'error'])) {
      return { kind: 'reverse-response', frame: { rid: v.rid, error: readWireError(v.error) } };
    }
  }
  return { kind: 'invalid', id: null, reason: 'frame is neither a request nor a reverse response' };
}

/** What a client received from the agent. */
export type InboundAtClient =
  | { kind: 'response'; frame: ResponseFrame }
  | { kind: 'event'; frame: EventFrame }
  | { kind: 'reverse-request'; frame: ReverseRequestFrame }
  | { kind: 'invalid'; reason: string };

/** Classifies a parsed frame received by a client. */
export function classifyAtClient(v: unknown): InboundAtClient {
  if (!isObject(v)) return { kind: 'invalid', reason: 'frame is not an object' };
  if ('id' in v && (v.id === null || isRequestId(v.id))) {
    const id = v.id as RequestId | null;
    if ('error' in v) return { kind: 'response', frame: { id, error: readWireError(v.error) } };
    if ('result' in v) return { kind: 'response', frame: { id, result: v.result } };
  }
  if (typeof v.event === 'string' && typeof v.seq === 'number') {
    return { kind: 'event', frame: { event: v.event, seq: v.seq, data: v.data } };
  }
  if (isRid(v.rid) && typeof v.request === 'string') {
    return { kind: 'reverse-request', frame: { rid: v.rid, request: v.request, params: v.params } };
  }
  return { kind: 'invalid', reason: 'unrecognised frame from the agent' };
}
