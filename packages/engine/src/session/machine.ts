/**
 * Runs one tunnel's state machine: feeds events to the current state one at a time (events
 * posted while a transition is in progress are queued, so a listener reacting to a change can
 * safely send a command), drops results of work whose state is gone, and owns the timers and
 * plane listeners of the current state.
 */
import { nullLogger, type Logger } from '@tandem/common';
import { DEFAULT_RECONNECT_POLICY, type ReconnectPolicy } from '@tandem/common';
import type { NetworkOwnership } from '../ownership.js';
import type { Clock, DataPlane, TimerHandle, TunnelDriver, TunnelKind, UserPresence } from '../ports.js';
import { createStateFactory } from './states.js';
import type {
  SessionContext,
  SessionEvent,
  SessionState,
  SessionStateName,
  SessionTarget,
  StateView,
} from './types.js';

/** What a {@link SessionMachine} needs. */
export interface SessionDeps {
  kind: TunnelKind;
  driver: TunnelDriver;
  clock: Clock;
  ownership: NetworkOwnership;
  users: UserPresence;
  random?: () => number;
  policy?: ReconnectPolicy;
  log?: Logger;
}

/** How a session came to rest: asked to stop, or by itself (failure, gateway ended it). */
export interface SessionRest {
  requested: boolean;
  view: StateView;
}

/** Names of the states where a session holds nothing and can be started. */
export function isRestState(name: SessionStateName): boolean {
  return name === 'idle' || name === 'error';
}

/** One tunnel's session: a state machine in the talpid shape. */
export class SessionMachine {
  readonly kind: TunnelKind;
  private state: SessionState;
  private done = false;
  private busy = false;
  private readonly queue: SessionEvent[] = [];
  private timers: TimerHandle[] = [];
  private plane: { plane: DataPlane; unsubscribe: () => void } | null = null;
  private stopRequested = false;
  private readonly ctx: SessionContext;
  private readonly changeListeners = new Set<(prev: SessionStateName, rest: SessionRest | null) => void>();
  private restWaiters: Array<() => void> = [];

  constructor(private readonly deps: SessionDeps) {
    this.kind = deps.kind;
    const now = (): number => deps.clock.now();
    const states = createStateFactory(now);
    this.state = states.idle();
    this.ctx = this.makeContext(states);
  }

  /** The current state's projection. */
  view(): StateView {
    return this.state.view();
  }

  /** The current state's name. */
  get stateName(): SessionStateName {
    return this.state.name;
  }

  /** True in `idle` or `error`: nothing held, may be started. */
  get atRest(): boolean {
    return isRestState(this.state.name);
  }

  /** True once a stop was requested and not superseded by a new connect. */
  get stopping(): boolean {
    return this.stopRequested && !this.atRest;
  }

  /** Starts the session (only meaningful at rest; the states ignore it otherwise). */
  connect(target: SessionTarget): void {
    this.stopRequested = false;
    this.post({ type: 'connect', target });
  }

  /** Asks the session to come down; resolves once it is at rest (routes/DNS reverted). */
  disconnect(logout: boolean): Promise<void> {
    if (!this.atRest) this.stopRequested = true;
    const settled = this.whenAtRest();
    this.post({ type: 'disconnect', logout });
    return settled;
  }

  /** Tells the current state that the host's network changed (see `DataPlane.networkChanged`). */
  networkChanged(): void {
    this.post({ type: 'network-changed' });
  }

  /** Ends the machine for good; only valid at rest. */
  shutdown(): void {
    this.post({ type: 'shutdown' });
  }

  /** Resolves when the session is at rest. */
  whenAtRest(): Promise<void> {
    if (this.atRest || this.done) return Promise.resolve();
    return new Promise((resolve) => this.restWaiters.push(resolve));
  }

  /** Called after every change; `rest` is set when the change brought the session to rest. */
  onChange(listener: (prev: SessionStateName, rest: SessionRest | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Queues one event and processes the queue unless a transition is already running. */
  post(event: SessionEvent): void {
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) this.step(e);
    } finally {
      this.busy = false;
    }
  }

  private step(event: SessionEvent): void {
    if (this.done) return;
    const prev = this.state;
    const t = prev.handle(event, this.ctx);
    if (t.kind === 'same') {
      if (t.changed) this.notify(prev.name, null);
      return;
    }
    this.clearTimers();
    if (t.kind === 'finished') {
      this.done = true;
      this.detach();
      this.notify(prev.name, null);
      return;
    }
    this.state = t.state;
    this.deps.log?.debug('session transition', {
      kind: this.kind,
      from: prev.name,
      to: t.state.name,
      event: event.type,
    });
    t.state.enter?.(this.ctx);
    const rest =
      this.atRest && !isRestState(prev.name) ? { requested: this.stopRequested, view: this.state.view() } : null;
    if (rest) this.stopRequested = false;
    this.notify(prev.name, rest);
    if (this.atRest) {
      const waiters = this.restWaiters;
      this.restWaiters = [];
      for (const w of waiters) w();
    }
  }

  private notify(prev: SessionStateName, rest: SessionRest | null): void {
    for (const l of this.changeListeners) l(prev, rest);
  }

  private clearTimers(): void {
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    this.timers = [];
  }

  private detach(): void {
    this.plane?.unsubscribe();
    this.plane = null;
  }

  private makeContext(states: SessionContext['states']): SessionContext {
    const deps = this.deps;
    const random = deps.random ?? Math.random;
    return {
      kind: deps.kind,
      driver: deps.driver,
      policy: deps.policy ?? DEFAULT_RECONNECT_POLICY,
      log: deps.log ?? nullLogger,
      states,
      now: () => deps.clock.now(),
      random,
      run: (owner, work, ok, fail) => {
        work.then(
          (value) => {
            if (this.state === owner) this.post(ok(value));
          },
          (error: unknown) => {
            if (this.state === owner) this.post(fail(error));
          },
        );
      },
      after: (owner, ms, event) => {
        this.timers.push(
          deps.clock.setTimeout(() => {
            if (this.state === owner) this.post(event);
          }, ms),
        );
      },
      acquireNetwork: () => deps.ownership.acquire(deps.kind),
      releaseNetwork: () => deps.ownership.release(deps.kind),
      attachPlane: (plane) => {
        if (this.plane?.plane === plane) return;
        this.detach();
        // Callbacks from a plane that is no longer ours (a late DPD from a closed tunnel) are ignored.
        const guard = (event: SessionEvent) => () => {
          if (this.plane?.plane === plane) this.post(event);
        };
        const offDead = plane.onDead((reason, how) =>
          guard({ type: 'dead', reason, ...(how?.retryNow ? { retryNow: true } : {}) })(),
        );
        const offEnd = plane.onEnded(({ reason, byServer }) => guard({ type: 'ended', reason, byServer })());
        this.plane = {
          plane,
          unsubscribe: () => {
            offDead();
            offEnd();
          },
        };
      },
      detachPlane: () => this.detach(),
      userSignerAvailable: (uid) => uid !== undefined && deps.users.hasSigner(uid),
    };
  }
}
