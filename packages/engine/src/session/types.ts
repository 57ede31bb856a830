/**
 * The shared vocabulary of the per-tunnel state machine (talpid shape): events in, a
 * {@link Transition} out, and the context a state uses to start asynchronous work.
 */
import type { Logger } from '@tandem/common';
import type { ReconnectPolicy } from '@tandem/common';
import type { DataPlane, SessionCredentials, TunnelDriver, TunnelKind } from '../ports.js';
import type { CauseDetail, SessionCause } from './cause.js';

/** Names of the seven states, one file each. */
export type SessionStateName =
  'idle' | 'authenticating' | 'connecting' | 'connected' | 'reconnecting' | 'disconnecting' | 'error';

/** Where a session connects and on whose behalf. */
export interface SessionTarget {
  url: string;
  /** Owner of a user tunnel; absent for the machine tunnel. */
  uid?: number;
}

/** Commands (from the supervisor) and events (from the ports and timers). */
export type SessionEvent =
  | { type: 'connect'; target: SessionTarget }
  | { type: 'disconnect'; logout: boolean }
  | { type: 'shutdown' }
  | { type: 'auth-ok'; creds: SessionCredentials }
  | { type: 'auth-failed'; error: unknown }
  | { type: 'open-ok'; plane: DataPlane }
  | { type: 'open-failed'; error: unknown }
  | { type: 'reconnect-ok' }
  | { type: 'reconnect-failed'; error: unknown }
  | { type: 'retry-due'; token: number }
  | { type: 'network-changed' }
  | { type: 'dead'; reason: string; retryNow?: boolean }
  | { type: 'ended'; reason: string; byServer: boolean }
  | { type: 'closed'; error?: unknown };

/** What a state's `handle` returns: a new state, the same one (maybe with new details), or the end. */
export type Transition =
  { kind: 'next'; state: SessionState } | { kind: 'same'; changed?: boolean } | { kind: 'finished' };

/** Moves to `state`. */
export const next = (state: SessionState): Transition => ({ kind: 'next', state });
/** Stays; `changed` asks for a new snapshot because details (attempt, phase) moved. */
export const same = (changed = false): Transition => ({ kind: 'same', changed });
/** The machine is done for good (agent shutdown). */
export const finished: Transition = { kind: 'finished' };

/** What a state exposes to the snapshot. `plane` is read for addresses and counters only. */
export interface StateView {
  state: SessionStateName;
  since: number;
  target?: SessionTarget;
  gateway?: string;
  plane?: DataPlane;
  cause?: SessionCause;
  message?: string;
  reconnect?: { attempt: number; phase: string; nextAt?: number };
}

/** One state of a session. */
export interface SessionState {
  readonly name: SessionStateName;
  /** Starts the state's asynchronous work; never transitions synchronously. */
  enter?(ctx: SessionContext): void;
  /** Reacts to one event. */
  handle(event: SessionEvent, ctx: SessionContext): Transition;
  /** The projection the snapshot reads. */
  view(): StateView;
}

/** Where a session goes once its data plane is closed. */
export type AfterClose = { kind: 'idle'; detail?: CauseDetail } | { kind: 'error'; detail: CauseDetail };

/**
 * Builds states. States reach their successors through this factory instead of importing
 * each other, which keeps the state files free of import cycles.
 */
export interface StateFactory {
  idle(detail?: CauseDetail): SessionState;
  authenticating(target: SessionTarget): SessionState;
  connecting(target: SessionTarget, creds: SessionCredentials): SessionState;
  connected(target: SessionTarget, creds: SessionCredentials, plane: DataPlane): SessionState;
  reconnecting(target: SessionTarget, creds: SessionCredentials, plane: DataPlane, retryNow?: boolean): SessionState;
  disconnecting(target: SessionTarget, plane: DataPlane, logout: boolean, after: AfterClose): SessionState;
  error(target: SessionTarget | undefined, detail: CauseDetail): SessionState;
}

/** Everything a state may use. Results of async work come back as events, never directly. */
export interface SessionContext {
  readonly kind: TunnelKind;
  readonly driver: TunnelDriver;
  readonly policy: ReconnectPolicy;
  readonly log: Logger;
  readonly states: StateFactory;
  now(): number;
  random(): number;
  /** Posts `ok(value)` or `fail(error)` when `work` settles, if `owner` is still the current state. */
  run<T>(
    owner: SessionState,
    work: Promise<T>,
    ok: (value: T) => SessionEvent,
    fail: (error: unknown) => SessionEvent,
  ): void;
  /** Posts `event` after `ms`, if `owner` is still the current state then. */
  after(owner: SessionState, ms: number, event: SessionEvent): void;
  /** Takes the routes/DNS token (before `open`). */
  acquireNetwork(): void;
  /** Gives the routes/DNS token back (after `close` or a failed `open`). */
  releaseNetwork(): void;
  /** Routes the plane's dead/ended callbacks into this machine (idempotent). */
  attachPlane(plane: DataPlane): void;
  /** Stops listening to the plane. */
  detachPlane(): void;
  /** True when the user tunnel's owner has a signer connected (re-auth is possible). */
  userSignerAvailable(uid: number | undefined): boolean;
}
