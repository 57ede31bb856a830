/**
 * `error`: the session failed and holds nothing (routes and DNS were reverted before entering).
 * The cause stays visible until the next connect, so a user or admin can see why.
 */
import type { CauseDetail } from './cause.js';
import {
  finished,
  next,
  same,
  type SessionContext,
  type SessionEvent,
  type SessionState,
  type SessionTarget,
  type StateView,
  type Transition,
} from './types.js';

/** The state of a session that failed, with its enumerated cause. */
export class ErrorState implements SessionState {
  readonly name = 'error';

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget | undefined,
    readonly detail: CauseDetail,
  ) {}

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'connect':
        return next(ctx.states.authenticating(event.target));
      case 'shutdown':
        return finished;
      default:
        return same();
    }
  }

  view(): StateView {
    return {
      state: this.name,
      since: this.since,
      ...(this.target ? { target: this.target, gateway: this.target.url } : {}),
      cause: this.detail.cause,
      message: this.detail.message,
    };
  }
}
