/**
 * One client connection, independent of the socket: bytes in, frames out. The server glues it
 * to a `net.Socket`; tests drive it directly. It owns the per-connection protocol state: the
 * frame reader, the hello gate, bad-frame counting, in-flight calls, event subscriptions and
 * reverse requests to the client.
 */
import { ErrorCodes, TandemError, redactor, type Logger } from '@tandem/common';
import {
  contract,
  isReverseName,
  validate,
  type EventData,
  type EventName,
  type Permission,
  type ReverseName,
  type ReverseParams,
  type ReverseResult,
  type ReverseSpec,
} from '@tandem/contract';
import { AGENT_FRAME_MAX } from '../frame-caps.js';
import { FrameReader, encodeFrame, parseFrame } from '../framing.js';
import { classifyAtAgent, type PeerCredentials, type ReverseResponseFrame, type WireError } from '../wire.js';
import { dispatch, type DispatchEnv } from './dispatch.js';
import type { CallContext, Handlers } from './handlers.js';
import type { IpcLimits } from './limits.js';
import type { NoiseLog } from './noise-log.js';

/** What a session needs from its owner. */
export interface SessionOptions {
  peer: PeerCredentials;
  perms: readonly Permission[];
  handlers: Handlers;
  agentVersion: string;
  logger: Logger;
  limits: IpcLimits;
  /** Where warnings a peer can cause at will go (rate-limited per uid). */
  noise: NoiseLog;
  /** Writes one encoded frame to the peer. */
  send(frame: string): void;
  /** Closes the connection (after any frame already passed to `send`). */
  close(reason: string): void;
}

interface PendingReverse {
  request: ReverseName;
  resolve(value: unknown): void;
  reject(err: TandemError): void;
  timer: NodeJS.Timeout;
}

/** Longest text of a user process's error the agent keeps (for its own log). */
const PEER_MESSAGE_MAX = 200;

/**
 * A user process's error answer, as the agent may use it: its code (the wire layer already made
 * an unknown one E_INTERNAL), a short single-line message, and none of the peer's `details` —
 * that object is another process's input and nothing downstream validates it.
 */
function peerError(e: WireError): TandemError {
  const text = redactor
    .string(e.message)
    // eslint-disable-next-line no-control-regex -- control characters are what this removes
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .slice(0, PEER_MESSAGE_MAX);
  return new TandemError(e.code, text, {
    details: { fromPeer: true },
  });
}

/** The protocol state of one connection. */
export class Session {
  private readonly reader: FrameReader;
  private readonly env: DispatchEnv;
  private readonly subscriptions = new Set<EventName>();
  /** Events held back while a `watch` snapshot is being taken, so the snapshot reply comes first. */
  private held: string[] | null = null;
  private readonly pending = new Map<number, PendingReverse>();
  private badFrames = 0;
  private inFlight = 0;
  private nextRid = 1;
  private closed = false;
  private lastActivity = Date.now();
  private startedAt = Date.now();
  private deadline: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SessionOptions) {
    this.reader = new FrameReader(() => this.frameCap());
    const ctx: CallContext = {
      peer: Object.freeze({ ...opts.peer }),
      perms: Object.freeze([...opts.perms]),
      reverse: (request, params) => this.reverse(request, params),
      emit: (event, data) => this.deliver(event, 0, data, true),
      isOpen: () => !this.closed,
    };
    this.env = {
      handlers: opts.handlers,
      agentVersion: opts.agentVersion,
      ctx,
      logger: opts.logger,
      helloDone: false,
      subscribe: (events) => this.subscribe(events),
      unsubscribe: () => {
        this.subscriptions.clear();
        this.held = null;
      },
    };
  }

  /**
   * Starts the clocks: `hello` must come within `helloTimeoutMs`, and a connection that waits
   * on nothing (no call, no reverse request, no subscription) is closed after `idleTimeoutMs`
   * of silence. One timer per connection, re-armed only when it fires.
   */
  start(): void {
    this.startedAt = Date.now();
    this.arm(Math.min(this.opts.limits.helloTimeoutMs, this.opts.limits.idleTimeoutMs));
  }

  private arm(ms: number): void {
    if (this.closed) return;
    this.deadline = setTimeout(() => this.checkDeadlines(), ms);
    this.deadline.unref();
  }

  private checkDeadlines(): void {
    this.deadline = null;
    if (this.closed) return;
    const { helloTimeoutMs, idleTimeoutMs } = this.opts.limits;
    if (!this.env.helloDone) {
      const left = this.startedAt + helloTimeoutMs - Date.now();
      if (left > 0) return this.arm(Math.min(left, idleTimeoutMs));
      this.opts.noise.note(this.opts.peer.uid, 'closed connection: no hello in time', { ms: helloTimeoutMs });
      this.close('no hello in time');
      return;
    }
    const waiting = this.inFlight > 0 || this.pending.size > 0 || this.subscriptions.size > 0;
    const idleFor = Date.now() - this.lastActivity;
    if (!waiting && idleFor >= idleTimeoutMs) {
      this.opts.noise.note(this.opts.peer.uid, 'closed connection: idle', { ms: idleFor });
      this.close('idle');
      return;
    }
    this.arm(waiting ? idleTimeoutMs : idleTimeoutMs - idleFor);
  }

  /**
   * The longest frame legal now: a `hello` before the hello, a request (or an error answer)
   * after it, and the answer to each reverse request while it is awaited.
   */
  private frameCap(): number {
    const caps = this.opts.limits.frameCaps;
    if (!this.env.helloDone) return caps.hello;
    let cap = caps.request;
    for (const p of this.pending.values()) cap = Math.max(cap, caps.reverse[p.request]);
    return cap;
  }

  /** The kernel-reported peer. */
  get peer(): PeerCredentials {
    return this.opts.peer;
  }

  /** Feeds bytes received from the peer. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    for (const item of this.reader.push(chunk)) {
      if (this.closed) return;
      if (item.kind === 'oversize') {
        const cap = this.frameCap();
        this.opts.noise.note(this.opts.peer.uid, 'oversized frame; closing connection', { bytes: item.bytes, cap });
        this.reply(null, { code: ErrorCodes.IPC_FRAME, message: `frame larger than ${cap} bytes` });
        this.close('oversized frame');
        return;
      }
      if (item.kind === 'invalid') {
        this.badFrame(null, item.reason);
        continue;
      }
      this.handleText(item.text);
    }
  }

  private handleText(text: string): void {
    const parsed = parseFrame(text, this.opts.limits.maxDepth);
    if (!parsed.ok) return this.badFrame(null, parsed.reason);
    const inbound = classifyAtAgent(parsed.value);
    if (inbound.kind === 'invalid') return this.badFrame(inbound.id, inbound.reason);
    if (inbound.kind === 'reverse-response') return this.settleReverse(inbound.frame);
    if (this.inFlight >= this.opts.limits.maxInFlight) {
      this.reply(inbound.frame.id, {
        code: ErrorCodes.IPC_LIMIT,
        message: 'too many calls in flight on this connection',
      });
      return;
    }
    this.inFlight++;
    const isWatch = inbound.frame.method === 'watch';
    void dispatch(inbound.frame, this.env).then((response) => {
      this.inFlight--;
      this.lastActivity = Date.now();
      if (this.closed) return;
      this.opts.send(this.bounded(response));
      if (isWatch) this.flushHeld();
    });
  }

  /** The response as a frame, or an E_IPC_LIMIT error when it would exceed what clients read. */
  private bounded(response: { id: string | number | null }): string {
    const frame = encodeFrame(response);
    if (Buffer.byteLength(frame) - 1 <= AGENT_FRAME_MAX) return frame;
    this.opts.logger.warn('answer larger than the frame cap; sent an error instead', { bytes: frame.length });
    return encodeFrame({
      id: response.id,
      error: { code: ErrorCodes.IPC_LIMIT, message: `answer larger than ${AGENT_FRAME_MAX} bytes; ask for less` },
    });
  }

  private badFrame(id: string | number | null, reason: string): void {
    this.badFrames++;
    this.reply(id, { code: ErrorCodes.IPC_FRAME, message: reason });
    if (this.badFrames >= this.opts.limits.maxBadFrames) {
      this.opts.noise.note(this.opts.peer.uid, 'too many malformed frames; closing connection');
      this.close('too many malformed frames');
    }
  }

  private reply(id: string | number | null, error: WireError): void {
    if (!this.closed) this.opts.send(encodeFrame({ id, error }));
  }

  private subscribe(events: readonly EventName[]): EventName[] {
    const accepted = [...new Set(events)].filter((e) => this.opts.perms.includes(contract.events[e].perm));
    for (const e of accepted) this.subscriptions.add(e);
    this.held = [];
    return accepted;
  }

  private flushHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const frame of held) if (!this.closed) this.opts.send(frame);
  }

  /**
   * Sends an event if this connection subscribed to it (or `direct`) and may receive it.
   * Returns whether it was sent or held.
   */
  deliver<E extends EventName>(event: E, seq: number, data: EventData<E>, direct = false): boolean {
    if (this.closed) return false;
    if (!this.opts.perms.includes(contract.events[event].perm)) return false;
    if (!direct && !this.subscriptions.has(event)) return false;
    const frame = encodeFrame({ event, seq, data });
    if (this.held) this.held.push(frame);
    else this.opts.send(frame);
    return true;
  }

  /** Sends a reverse request to the peer and awaits its answer, validated against the contract. */
  reverse<R extends ReverseName>(request: R, params: ReverseParams<R>): Promise<ReverseResult<R>> {
    const spec: ReverseSpec = contract.reverse[request];
    const checked = validate(spec.params, params);
    if (!checked.ok)
      return Promise.reject(
        new TandemError(ErrorCodes.INTERNAL, `agent built invalid ${request} params: ${checked.issue}`),
      );
    if (this.closed) return Promise.reject(new TandemError(ErrorCodes.IPC_CLOSED, 'connection closed'));
    if (this.pending.size >= this.opts.limits.maxPendingReverse) {
      return Promise.reject(new TandemError(ErrorCodes.IPC_LIMIT, 'too many reverse requests pending'));
    }
    const rid = this.nextRid++;
    return new Promise<ReverseResult<R>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new TandemError(ErrorCodes.IPC_TIMEOUT, `${request} was not answered in time`));
      }, this.opts.limits.reverseTimeoutMs);
      timer.unref();
      this.pending.set(rid, { request, resolve: resolve as (v: unknown) => void, reject, timer });
      this.opts.send(encodeFrame({ rid, request, params }));
    });
  }

  private settleReverse(frame: ReverseResponseFrame): void {
    const entry = this.pending.get(frame.rid);
    if (!entry) return this.badFrame(null, `no reverse request ${frame.rid} is pending`);
    this.pending.delete(frame.rid);
    clearTimeout(entry.timer);
    if ('error' in frame) return entry.reject(peerError(frame.error));
    if (!isReverseName(entry.request))
      return entry.reject(new TandemError(ErrorCodes.INTERNAL, 'unknown reverse request'));
    // The client is another (less trusted) process: its answer is validated like any request.
    // Unknown keys are tolerated because a newer client minor version may add fields.
    const spec: ReverseSpec = contract.reverse[entry.request];
    const checked = validate(spec.result, frame.result, { allowUnknownKeys: true });
    if (!checked.ok) {
      entry.reject(
        new TandemError(ErrorCodes.IPC_PARAMS, `invalid ${entry.request} answer`, {
          details: { issue: checked.issue.slice(0, 512) },
        }),
      );
      return;
    }
    entry.resolve(checked.value);
  }

  /** Closes the connection and fails every pending reverse request. */
  close(reason: string): void {
    if (this.closed) return;
    this.dispose();
    this.opts.close(reason);
  }

  /** Marks the session closed (the socket is gone) and fails pending reverse requests. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.subscriptions.clear();
    this.held = null;
    for (const [rid, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new TandemError(ErrorCodes.IPC_CLOSED, `connection closed before ${entry.request} was answered`));
      this.pending.delete(rid);
    }
  }

  /** Whether the session is closed. */
  get isClosed(): boolean {
    return this.closed;
  }
}
