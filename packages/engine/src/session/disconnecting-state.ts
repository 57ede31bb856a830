/**
 * `disconnecting`: `plane.close()` runs; routes and DNS are reverted when it resolves, and only
 * then is the routes/DNS token given back, so the other tunnel can never start on top of a
 * half-reverted network.
 */
import {
  same,
  next,
  type AfterClose,
  type SessionContext,
  type SessionEvent,
  type SessionState,
  type SessionTarget,
  type StateView,
  type Transition,
} from './types.js';
import type { DataPlane } from '../ports.js';

/** The state of a session whose tunnel is being torn down. */
export class DisconnectingState implements SessionState {
  readonly name = 'disconnecting';

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget,
    private readonly plane: DataPlane,
    private readonly logout: boolean,
    private readonly after: AfterClose,
  ) {}

  enter(ctx: SessionContext): void {
    ctx.run(
      this,
      this.plane.close({ logout: this.logout }),
      () => ({ type: 'closed' }),
      (error) => ({ type: 'closed', error }),
    );
  }

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    if (event.type !== 'closed') return same(); // already going down; nothing else matters
    ctx.detachPlane();
    ctx.releaseNetwork();
    if (event.error !== undefined) {
      // The tunnel package's journal recovers what close() could not revert; the session
      // still ends, and says why.
      const message = event.error instanceof Error ? event.error.message : String(event.error);
      ctx.log.error('closing the tunnel failed', { kind: ctx.kind, error: message });
      if (this.after.kind === 'idle')
        return next(
          ctx.states.error(this.target, {
            cause: 'netconfig-failed',
            message: `closing the tunnel failed: ${message}`,
          }),
        );
    }
    return next(
      this.after.kind === 'idle'
        ? ctx.states.idle(this.after.detail)
        : ctx.states.error(this.target, this.after.detail),
    );
  }

  view(): StateView {
    return { state: this.name, since: this.since, target: this.target, gateway: this.target.url, plane: this.plane };
  }
}
