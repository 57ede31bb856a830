/**
 * Frame caps derived from the contract: the longest frame each side may legally send is
 * computed from the schemas' own limits ({@link Schema.maxBytes}), so the largest legal message
 * always fits and a peer can make the reader buffer nothing beyond it.
 *
 * The agent reads small frames from everyone (`hello`, then calls) and a large one only from
 * a connection it asked a question whose answer is large (`certs.list`, a few MiB), and only
 * while that answer is awaited.
 */
import {
  contract,
  type MethodName,
  type ReverseName,
  type ReverseSpec,
  type MethodSpec,
  type Schema,
} from '@tandem/contract';

/** The longest id a request may carry (see `isRequestId` in wire.ts): a string of 64 units. */
const ID_BYTES = 2 + 6 * 64;
/** A safe integer's longest JSON text (`-9007199254740991`). */
const INT_BYTES = 17;
/**
 * The longest error a client may return for a reverse request: the agent keeps 200 characters
 * of the message and drops `details` (see `peerError`), but a client may legally send a message
 * of 4,096 characters (escaped: 24 KiB) with a small `details` object.
 */
export const PEER_ERROR_FRAME_MAX = 32 * 1024;
/**
 * The longest frame the agent sends: 16 MiB, far above its largest real answers
 * (`diagnostics.read`'s 1 MiB chunk, `diagnostics.collect`'s file list, a full `logs.tail`).
 * The agent refuses to send anything longer (E_IPC_LIMIT), so a client can cap its reader
 * here; a result whose schema would allow more fails cleanly rather than growing the reader.
 */
export const AGENT_FRAME_MAX = 16 * 1024 * 1024 + 4096;

const quoted = (name: string): number => Buffer.byteLength(JSON.stringify(name));

/** `{"id":ID,"method":"NAME","params":P}` at its longest. */
function requestFrameMax(name: string, params: Schema<unknown>): number {
  return '{"id":,"method":,"params":}'.length + ID_BYTES + quoted(name) + params.maxBytes;
}

/** `{"rid":N,"result":R}` at its longest, or the longest error answer. */
function reverseAnswerMax(result: Schema<unknown>): number {
  return Math.max('{"rid":,"result":}'.length + INT_BYTES + result.maxBytes, PEER_ERROR_FRAME_MAX);
}

/** What the agent accepts from a client, in bytes per frame (newline excluded). */
export interface FrameCaps {
  /** Before `hello` has succeeded: only a `hello` request is legal. */
  readonly hello: number;
  /** After `hello`: any request, or an error answer to a reverse request. */
  readonly request: number;
  /** While the agent awaits an answer to reverse request `R`: that answer. */
  readonly reverse: Readonly<Record<ReverseName, number>>;
}

/** Derives the agent's inbound caps from {@link contract}. */
export function deriveFrameCaps(): FrameCaps {
  const methods = Object.entries(contract.methods) as Array<[MethodName, MethodSpec]>;
  const requests = methods.map(([name, spec]) => requestFrameMax(name, spec.params));
  const reverse = Object.fromEntries(
    (Object.entries(contract.reverse) as Array<[ReverseName, ReverseSpec]>).map(([name, spec]) => [
      name,
      reverseAnswerMax(spec.result),
    ]),
  ) as Record<ReverseName, number>;
  return {
    hello: requestFrameMax('hello', contract.methods.hello.params),
    request: Math.max(PEER_ERROR_FRAME_MAX, ...requests),
    reverse,
  };
}

/** The agent's inbound caps, computed once. */
export const FRAME_CAPS: FrameCaps = deriveFrameCaps();
