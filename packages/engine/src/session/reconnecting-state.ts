/**
 * `reconnecting`: the transport died but TUN, routes and DNS stay in place (no leak while we
 * retry). Policy (docs/protocol.md#reconnect): reconnect with the session cookie with backoff
 * (1 s, ×2, cap 30 s, full jitter) within a total budget; a rejected cookie (401) means a full
 * re-authentication — automatic for the machine tunnel, and for the user tunnel only while the
 * user's signer is connected. A re-authentication that fails transiently (gateway unreachable or
 * overloaded) is retried on the same backoff and budget, without the refused cookie: a gateway
 * that just restarted refuses every old cookie and may time out under the whole fleet at once.
 */
import { backoffDelay } from '@tandem/common';
import type { DataPlane, SessionCredentials } from '../ports.js';
import { causeOf, isTransient, type CauseDetail } from './cause.js';
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

type Phase = 'waiting' | 'reconnecting' | 'reauthenticating';

/** The state of a session whose transport is being re-established. */
export class ReconnectingState implements SessionState {
  readonly name = 'reconnecting';
  private phase: Phase = 'waiting';
  private attempt = 0;
  /** The gateway refused the cookie: the next attempt re-authenticates instead of reconnecting. */
  private cookieRefused = false;
  private nextAt: number | undefined;
  /** Identifies the pending retry timer: a network change may have taken its place. */
  private retryToken = 0;
  private abort = new AbortController();
  private cancel: { logout: boolean } | null = null;

  constructor(
    private readonly since: number,
    private readonly target: SessionTarget,
    private creds: SessionCredentials,
    private readonly plane: DataPlane,
    /** The path moved under a live session: its first attempt needs no backoff. */
    private readonly retryNow = false,
  ) {}

  enter(ctx: SessionContext): void {
    if (this.retryNow) this.reconnect(ctx);
    else this.schedule(ctx);
  }

  handle(event: SessionEvent, ctx: SessionContext): Transition {
    switch (event.type) {
      case 'retry-due':
        if (this.phase !== 'waiting' || event.token !== this.retryToken) return same();
        // schedule() never sets a retry past the budget, so a due retry is always attempted.
        if (this.cookieRefused) return this.reauthenticate(ctx);
        this.reconnect(ctx);
        return same(true);
      case 'network-changed':
        // A new network is a new chance: waiting out the backoff would only add downtime.
        if (this.phase !== 'waiting') return same();
        ctx.log.info('network changed while waiting to reconnect; trying now', { kind: ctx.kind });
        this.retryToken += 1;
        if (this.cookieRefused) return this.reauthenticate(ctx);
        this.reconnect(ctx);
        return same(true);
      case 'reconnect-ok':
        if (this.cancel) return this.close(ctx, this.cancel.logout);
        return next(ctx.states.connected(this.target, this.creds, this.plane));
      case 'reconnect-failed':
        if (this.cancel) return this.close(ctx, this.cancel.logout);
        return this.onReconnectFailed(causeOf(event.error), ctx);
      case 'auth-ok':
        if (this.cancel) return this.close(ctx, this.cancel.logout);
        this.creds = event.creds;
        this.cookieRefused = false;
        this.reconnect(ctx);
        return same(true);
      case 'auth-failed':
        if (this.cancel) return this.close(ctx, this.cancel.logout);
        return this.retryOrFail(causeOf(event.error), ctx);
      case 'disconnect':
        if (this.phase === 'waiting') return this.close(ctx, event.logout);
        // A reconnect or re-auth is in flight: let it settle before closing the plane.
        this.cancel ??= { logout: event.logout };
        this.abort.abort();
        return same(true);
      default:
        return same(); // dead or ended again: the transport is already down
    }
  }

  private onReconnectFailed(detail: CauseDetail, ctx: SessionContext): Transition {
    if (detail.cause === 'cookie-rejected') {
      this.cookieRefused = true;
      return this.reauthenticate(ctx);
    }
    return this.retryOrFail(detail, ctx);
  }

  private reauthenticate(ctx: SessionContext): Transition {
    if (ctx.kind === 'user' && !ctx.userSignerAvailable(this.target.uid)) {
      return this.fail(ctx, {
        cause: 'cookie-rejected',
        message:
          'the gateway rejected the session cookie and no client of the tunnel owner is connected to re-authenticate',
      });
    }
    this.phase = 'reauthenticating';
    this.nextAt = undefined;
    this.abort = new AbortController();
    const work = ctx.driver.authenticate(ctx.kind, {
      url: this.target.url,
      ...(ctx.kind === 'user' ? { uid: this.target.uid } : {}),
      reason: 'reauth',
      signal: this.abort.signal,
    });
    ctx.run(
      this,
      work,
      (creds) => ({ type: 'auth-ok', creds }),
      (error) => ({ type: 'auth-failed', error }),
    );
    return same(true);
  }

  /** A transient failure waits for the next attempt (within the budget); anything else ends the session. */
  private retryOrFail(detail: CauseDetail, ctx: SessionContext): Transition {
    if (!isTransient(detail.cause)) return this.fail(ctx, detail);
    this.attempt += 1;
    if (this.budgetSpent(ctx)) return this.giveUp(ctx);
    this.schedule(ctx);
    // Every failed attempt is told, so a long outage is not minutes of silence in the log.
    ctx.log.info('reconnect attempt failed; waiting to retry', {
      kind: ctx.kind,
      attempt: this.attempt,
      cause: detail.cause,
      reason: detail.message,
      retryInMs: (this.nextAt ?? ctx.now()) - ctx.now(),
    });
    return same(true);
  }

  private schedule(ctx: SessionContext): void {
    this.phase = 'waiting';
    // The last wait is shortened to end exactly at the budget, so the final attempt uses the
    // whole budget instead of giving up up to one full backoff early.
    const left = this.since + ctx.policy.budgetMs - ctx.now();
    const delay = Math.max(
      0,
      Math.min(
        left,
        backoffDelay(this.attempt, ctx.policy, () => ctx.random()),
      ),
    );
    this.nextAt = ctx.now() + delay;
    ctx.after(this, delay, { type: 'retry-due', token: ++this.retryToken });
  }

  private reconnect(ctx: SessionContext): void {
    this.phase = 'reconnecting';
    this.nextAt = undefined;
    this.abort = new AbortController();
    const work = this.plane.reconnect(this.creds, { signal: this.abort.signal });
    ctx.run(
      this,
      work,
      () => ({ type: 'reconnect-ok' }),
      (error) => ({ type: 'reconnect-failed', error }),
    );
  }

  private budgetSpent(ctx: SessionContext): boolean {
    return ctx.now() - this.since >= ctx.policy.budgetMs;
  }

  private giveUp(ctx: SessionContext): Transition {
    return this.fail(ctx, {
      cause: 'reconnect-timeout',
      message: `gave up reconnecting after ${Math.round((ctx.now() - this.since) / 1000)} s`,
    });
  }

  private fail(ctx: SessionContext, detail: CauseDetail): Transition {
    return next(ctx.states.disconnecting(this.target, this.plane, false, { kind: 'error', detail }));
  }

  private close(ctx: SessionContext, logout: boolean): Transition {
    return next(ctx.states.disconnecting(this.target, this.plane, logout, { kind: 'idle' }));
  }

  view(): StateView {
    return {
      state: this.name,
      since: this.since,
      target: this.target,
      gateway: this.target.url,
      plane: this.plane,
      reconnect: {
        attempt: this.attempt,
        phase: this.phase,
        ...(this.nextAt !== undefined ? { nextAt: this.nextAt } : {}),
      },
    };
  }
}
