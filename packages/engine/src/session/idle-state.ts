/**
 * `idle`: no tunnel, nothing held. Also the resting place after the gateway ended the session
 * (DISCONNECT/TERMINATE), in which case it carries the `gateway-ended` cause so status can say
 * why the tunnel went away without calling it a failure.
 */
import type { CauseDetail } from './cause.js';
import {
  finished,
  next,
  same,
  type SessionContext,
  type SessionEvent,
  type SessionState,
  type StateView,
  type Transition,
} from './types.js';

/** The state of a session with no tunnel. */
export class IdleState implements SessionState {
  readonly name = 'idle';

  constructor(
    private readonly since: number,
    private readonly detail?: CauseDetail,
  ) {}

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'connect':
        return next(ctx.states.authenticating(event.target));
      case 'shutdown':
        return finished;
      default:
        // Late results of abandoned work and repeated disconnects have nothing to act on.
        return same();
    }
  }

  view(): StateView {
    return {
      state: this.name,
      since: this.since,
      ...(this.detail ? { cause: this.detail.cause, message: this.detail.message } : {}),
    };
  }
}
