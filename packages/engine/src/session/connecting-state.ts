/**
 * `connecting`: CSTP CONNECT, TUN, routes and DNS are being set up by `driver.open()`. The
 * routes/DNS token is taken before `open` starts. A disconnect cannot cut this short: `open`
 * may already have applied routes, so the state waits for it to settle and then either closes
 * the plane (it opened) or lets go of the token (it failed and reverted itself).
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
import type { SessionCredentials } from '../ports.js';

/** The state of a session whose data plane is being opened. */
export class ConnectingState implements SessionState {
  readonly name = 'connecting';
  private readonly abort = new AbortController();
  private cancel: { logout: boolean } | null = null;

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget,
    private readonly creds: SessionCredentials,
  ) {}

  enter(ctx: SessionContext): void {
    ctx.acquireNetwork();
    const work = ctx.driver.open(ctx.kind, this.creds, { signal: this.abort.signal });
    ctx.run(
      this,
      work,
      (plane) => ({ type: 'open-ok', plane }),
      (error) => ({ type: 'open-failed', error }),
    );
  }

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'open-ok':
        if (this.cancel)
          return next(ctx.states.disconnecting(this.target, event.plane, this.cancel.logout, { kind: 'idle' }));
        return next(ctx.states.connected(this.target, this.creds, event.plane));
      case 'open-failed':
        ctx.releaseNetwork();
        return next(this.cancel ? ctx.states.idle() : ctx.states.error(this.target, causeOf(event.error)));
      case 'disconnect':
        if (this.cancel === null) {
          this.cancel = { logout: event.logout };
          this.abort.abort();
        }
        return same(true);
      default:
        return same();
    }
  }

  view(): StateView {
    return { state: this.name, since: this.since, target: this.target, gateway: this.target.url };
  }
}
