/**
 * `connected`: the tunnel is up and owns routes/DNS. A dead transport moves to `reconnecting`
 * (keeping routes so nothing leaks); a gateway DISCONNECT/TERMINATE, or a TUN that stopped
 * working, ends the session without retry (docs/protocol.md#disconnect-and-logout, #reconnect).
 */
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
import type { DataPlane, SessionCredentials } from '../ports.js';

/** The state of a session with a working tunnel. */
export class ConnectedState implements SessionState {
  readonly name = 'connected';

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget,
    private readonly creds: SessionCredentials,
    private readonly plane: DataPlane,
  ) {}

  enter(ctx: SessionContext): void {
    ctx.attachPlane(this.plane);
  }

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'dead':
        ctx.log.warn('tunnel transport died; reconnecting with the session cookie', {
          kind: ctx.kind,
          reason: event.reason,
        });
        return next(ctx.states.reconnecting(this.target, this.creds, this.plane, event.retryNow === true));
      case 'ended':
        // The gateway's end is a normal outcome (idle); a local failure is an error to show.
        if (event.byServer) {
          return next(
            ctx.states.disconnecting(this.target, this.plane, false, {
              kind: 'idle',
              detail: {
                cause: 'gateway-ended',
                message: `gateway ended the session${event.reason ? `: ${event.reason}` : ''}`,
              },
            }),
          );
        }
        return next(
          ctx.states.disconnecting(this.target, this.plane, false, {
            kind: 'error',
            detail: { cause: 'tun-failed', message: event.reason },
          }),
        );
      case 'network-changed':
        this.plane.networkChanged?.().catch((err: unknown) => {
          ctx.log.warn('checking the path after a network change failed', { kind: ctx.kind, error: String(err) });
        });
        return same();
      case 'disconnect':
        return next(ctx.states.disconnecting(this.target, this.plane, event.logout, { kind: 'idle' }));
      default:
        return same();
    }
  }

  view(): StateView {
    return { state: this.name, since: this.since, target: this.target, gateway: this.target.url, plane: this.plane };
  }
}
