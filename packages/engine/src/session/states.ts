/**
 * The one place that knows every state class: builds them with the current time, so that the
 * state files only depend on types.ts and never on each other.
 */
import { AuthenticatingState } from './authenticating-state.js';
import { ConnectedState } from './connected-state.js';
import { ConnectingState } from './connecting-state.js';
import { DisconnectingState } from './disconnecting-state.js';
import { ErrorState } from './error-state.js';
import { IdleState } from './idle-state.js';
import { ReconnectingState } from './reconnecting-state.js';
import type { StateFactory } from './types.js';

/** A {@link StateFactory} stamping each state with `now()` as its `since`. */
export function createStateFactory(now: () => number): StateFactory {
  return {
    idle: (detail) => new IdleState(now(), detail),
    authenticating: (target) => new AuthenticatingState(now(), target),
    connecting: (target, creds) => new ConnectingState(now(), target, creds),
    connected: (target, creds, plane) => new ConnectedState(now(), target, creds, plane),
    reconnecting: (target, creds, plane, retryNow) => new ReconnectingState(now(), target, creds, plane, retryNow),
    disconnecting: (target, plane, logout, after) => new DisconnectingState(now(), target, plane, logout, after),
    error: (target, detail) => new ErrorState(now(), target, detail),
  };
}
