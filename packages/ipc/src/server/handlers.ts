/**
 * The agent-side types derived from the contract: what a handler receives and must return.
 */
import type {
  EventData,
  EventName,
  MethodName,
  ParamsOf,
  Permission,
  ResultOf,
  ReverseName,
  ReverseParams,
  ReverseResult,
} from '@tandem/contract';
import type { PeerCredentials } from '../wire.js';

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** The caller as recorded by the kernel at accept. */
  readonly peer: Readonly<PeerCredentials>;
  /** What this caller may do (already enforced for the method's own permission). */
  readonly perms: readonly Permission[];
  /** Sends a reverse request to this caller's process and awaits its validated answer. */
  reverse<R extends ReverseName>(request: R, params: ReverseParams<R>): Promise<ReverseResult<R>>;
  /** Sends an event to this connection only (if it may receive it). */
  emit<E extends EventName>(event: E, data: EventData<E>): void;
  /**
   * Whether this very connection is still open. Liveness is the connection's, not the pid's:
   * another connection of the same process (or a recycled pid) does not keep it alive.
   */
  isOpen(): boolean;
}

/** The handler of method `M`. */
export type Handler<M extends MethodName> = (params: ParamsOf<M>, ctx: CallContext) => Promise<ResultOf<M>>;

/**
 * Methods the IPC layer answers itself: `hello` (version and permissions are its business) and
 * `watch` (subscription plus the `status` handler's snapshot).
 */
export type BuiltinMethod = 'hello' | 'watch';

/** One handler for every method of the contract that the engine implements. */
export type Handlers = { [M in Exclude<MethodName, BuiltinMethod>]: Handler<M> };
