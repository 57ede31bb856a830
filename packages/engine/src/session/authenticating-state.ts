/**
 * `authenticating`: the AnyConnect auth flow runs (certificate-only for the machine tunnel,
 * MCA through the user's signer for the user tunnel). Nothing is applied to the system yet, so
 * a disconnect can abandon it at once.
 */
import { causeOf } from './cause.js';
import {
  next,
  same,
  type SessionContext,
  type SessionEvent,
  type SessionState,
  type SessionTarget,
  type StateView,
  type Transition,
} from './types.js';

/** The state of a session waiting for a session cookie. */
export class AuthenticatingState implements SessionState {
  readonly name = 'authenticating';
  private readonly abort = new AbortController();

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget,
  ) {}

  enter(ctx: SessionContext): void {
    const work = ctx.driver.authenticate(ctx.kind, {
      url: this.target.url,
      ...(ctx.kind === 'user' ? { uid: this.target.uid } : {}),
      reason: 'initial',
      signal: this.abort.signal,
    });
    ctx.run(
      this,
      work,
      (creds) => ({ type: 'auth-ok', creds }),
      (error) => ({ type: 'auth-failed', error }),
    );
  }

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'auth-ok':
        return next(ctx.states.connecting(this.target, event.creds));
      case 'auth-failed':
        return next(ctx.states.error(this.target, causeOf(event.error)));
      case 'disconnect':
        // Authentication touches no routes or DNS: leaving now is safe, and its late result
        // is dropped because this state is no longer current.
        this.abort.abort();
        return next(ctx.states.idle());
      default:
        return same();
    }
  }

  view(): StateView {
    return { state: this.name, since: this.since, target: this.target, gateway: this.target.url };
  }
}
