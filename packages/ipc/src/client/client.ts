/**
 * The typed client: connects, checks who owns the socket, says `hello`, then offers
 * `call(method, params)` typed from the contract, event listeners, and answers the agent's
 * reverse requests with the handlers it was given. It never imports the server half.
 */
import { ErrorCodes, TandemError, nullLogger, type Logger } from '@tandem/common';
import {
  API_VERSION,
  contract,
  isMethodName,
  isReverseName,
  validate,
  type EventData,
  type EventName,
  type MethodName,
  type MethodSpec,
  type ParamsOf,
  type Permission,
  type ResultOf,
  type ReverseName,
  type ReverseParams,
  type ReverseResult,
  type ReverseSpec,
} from '@tandem/contract';
import { AGENT_FRAME_MAX } from '../frame-caps.js';
import { FrameReader, encodeFrame, parseFrame } from '../framing.js';
import { classifyAtClient, errorFromWire, toWireError, type ReverseRequestFrame } from '../wire.js';
import { openTransport } from './transport.js';

/** How the client answers one reverse request from the agent. */
export type ReverseHandler<R extends ReverseName> = (params: ReverseParams<R>) => Promise<ReverseResult<R>>;
/** The reverse requests this client can answer (a CLI without a certificate store offers none). */
export type ReverseHandlers = { [R in ReverseName]?: ReverseHandler<R> };

/** Options of {@link connectIpc}. */
export interface ConnectOptions {
  /** The agent's Unix socket, or its named pipe on Windows. */
  socketPath: string;
  /** This client's version, reported in `hello`. */
  clientVersion: string;
  reverseHandlers?: ReverseHandlers;
  /**
   * Skip the check that the agent is root's (the socket's owner; on Windows the pipe's owner and
   * server process must be LocalSystem's). Only for development agents run by a normal user;
   * production clients must keep it off so nobody can pose as the agent.
   */
  allowNonRootOwner?: boolean;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
  /** Largest frame accepted from the agent (default `AGENT_FRAME_MAX`: a diagnostic bundle is returned inline). */
  maxFrameBytes?: number;
  logger?: Logger;
}

/** A connected client. */
export interface IpcClient {
  /** What `hello` returned. */
  readonly agentVersion: string;
  readonly apiVersion: number;
  readonly permissions: readonly Permission[];
  readonly uid: number;
  /** Calls a method; rejects with a TandemError carrying the agent's code. */
  call<M extends Exclude<MethodName, 'hello'>>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
  /** Listens to an event (after `watch` subscribed to it); returns the function that stops listening. */
  on<E extends EventName>(event: E, listener: (data: EventData<E>, seq: number) => void): () => void;
  /** Called once when the connection ends, for whatever reason. */
  onClose(listener: (reason: TandemError) => void): void;
  close(): void;
}

interface Pending {
  method: MethodName;
  resolve(v: unknown): void;
  reject(e: TandemError): void;
  timer: NodeJS.Timeout;
}

/** Connects to the agent and completes the `hello` exchange (E_VERSION_MISMATCH if majors differ). */
export async function connectIpc(opts: ConnectOptions): Promise<IpcClient> {
  const logger = (opts.logger ?? nullLogger).child('ipc-client');
  const socket = await openTransport({ address: opts.socketPath, allowNonRootOwner: opts.allowNonRootOwner === true });
  const reader = new FrameReader(opts.maxFrameBytes ?? AGENT_FRAME_MAX);
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<(data: unknown, seq: number) => void>>();
  const closeListeners: Array<(reason: TandemError) => void> = [];
  let nextId = 1;
  let closedWith: TandemError | null = null;

  const shutdown = (reason: TandemError): void => {
    if (closedWith) return;
    closedWith = reason;
    socket.destroy();
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    pending.clear();
    for (const l of closeListeners) l(reason);
  };

  const answerReverse = async (frame: ReverseRequestFrame): Promise<void> => {
    const reply = (body: { result: unknown } | { error: ReturnType<typeof toWireError> }): void => {
      if (!closedWith) socket.write(encodeFrame({ rid: frame.rid, ...body }));
    };
    const name = frame.request;
    const handler = isReverseName(name)
      ? (opts.reverseHandlers?.[name] as ((p: unknown) => Promise<unknown>) | undefined)
      : undefined;
    if (!isReverseName(name) || !handler) {
      return reply({
        error: { code: ErrorCodes.IPC_METHOD, message: `this client does not handle ${name.slice(0, 64)}` },
      });
    }
    const spec: ReverseSpec = contract.reverse[name];
    const params = validate(spec.params, frame.params, { allowUnknownKeys: true });
    if (!params.ok) return reply({ error: { code: ErrorCodes.IPC_PARAMS, message: params.issue } });
    try {
      reply({ result: await handler(params.value) });
    } catch (err) {
      reply({ error: toWireError(err) });
    }
  };

  const onFrameText = (text: string): void => {
    const parsed = parseFrame(text, 64);
    const inbound = parsed.ok ? classifyAtClient(parsed.value) : { kind: 'invalid' as const, reason: parsed.reason };
    if (inbound.kind === 'invalid') {
      logger.warn('ignoring malformed frame from the agent', { reason: inbound.reason });
      return;
    }
    if (inbound.kind === 'event') {
      const set = listeners.get(inbound.frame.event as EventName);
      for (const l of set ?? []) l(inbound.frame.data, inbound.frame.seq);
      return;
    }
    if (inbound.kind === 'reverse-request') {
      void answerReverse(inbound.frame);
      return;
    }
    const { frame } = inbound;
    if (frame.id === null) {
      // An unattributed error (connection limit, oversized frame) ends the connection.
      if ('error' in frame) shutdown(errorFromWire(frame.error));
      return;
    }
    const entry = typeof frame.id === 'number' ? pending.get(frame.id) : undefined;
    if (!entry) return;
    pending.delete(frame.id as number);
    clearTimeout(entry.timer);
    if ('error' in frame) return entry.reject(errorFromWire(frame.error));
    // Results are checked against the contract; unknown keys may come from a newer agent minor.
    const spec: MethodSpec = contract.methods[entry.method];
    const checked = validate(spec.result, frame.result, { allowUnknownKeys: true });
    if (!checked.ok)
      return entry.reject(
        new TandemError(ErrorCodes.PROTOCOL, `agent sent an invalid ${entry.method} result: ${checked.issue}`),
      );
    entry.resolve(checked.value);
  };

  socket.on('data', (chunk: Buffer) => {
    for (const item of reader.push(chunk)) {
      if (item.kind === 'frame') onFrameText(item.text);
      else if (item.kind === 'oversize')
        shutdown(new TandemError(ErrorCodes.IPC_FRAME, 'agent sent an oversized frame'));
    }
  });
  socket.on('error', (err) =>
    shutdown(new TandemError(ErrorCodes.IPC_CLOSED, `connection to the agent failed: ${err.message}`)),
  );
  socket.on('close', () => shutdown(new TandemError(ErrorCodes.IPC_CLOSED, 'connection to the agent closed')));

  const rawCall = (method: MethodName, params: unknown): Promise<unknown> => {
    if (closedWith) return Promise.reject(closedWith);
    if (!isMethodName(method))
      return Promise.reject(new TandemError(ErrorCodes.IPC_METHOD, `unknown method ${method}`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new TandemError(ErrorCodes.IPC_TIMEOUT, `${method} timed out`));
      }, opts.timeoutMs ?? 30_000);
      timer.unref();
      pending.set(id, { method, resolve, reject, timer });
      socket.write(encodeFrame({ id, method, params }));
    });
  };

  let hello: ResultOf<'hello'>;
  try {
    hello = (await rawCall('hello', {
      apiVersion: API_VERSION,
      clientVersion: opts.clientVersion,
    })) as ResultOf<'hello'>;
    if (hello.apiVersion !== API_VERSION) {
      throw new TandemError(
        ErrorCodes.VERSION_MISMATCH,
        `agent speaks API ${hello.apiVersion}, this client ${API_VERSION}`,
      );
    }
  } catch (err) {
    socket.destroy();
    throw err;
  }

  return {
    agentVersion: hello.agentVersion,
    apiVersion: hello.apiVersion,
    permissions: hello.permissions,
    uid: hello.uid,
    call: (method, params) => rawCall(method, params) as Promise<never>,
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const l = listener as (data: unknown, seq: number) => void;
      set.add(l);
      return () => set.delete(l);
    },
    onClose(listener) {
      if (closedWith) listener(closedWith);
      else closeListeners.push(listener);
    },
    close() {
      shutdown(new TandemError(ErrorCodes.IPC_CLOSED, 'closed by the client'));
    },
  };
}
