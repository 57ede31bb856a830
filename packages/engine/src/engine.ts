/**
 * The engine the agent drives: two sessions (machine and user), the supervisor that decides
 * which one runs, trusted network detection, and the snapshot feed. Every input change and
 * every session change ends in `reconcile()`, which asks the pure planner for the next steps.
 *
 * Request semantics (documented for the IPC layer):
 * - `connectUser` while the machine tunnel is in any state is accepted: the intent is queued,
 *   a machine bring-up is cancelled (or the tunnel closed), and the user session starts once
 *   the machine session's `close()` resolved.
 * - `connectUser` while a user tunnel is queued, starting, reconnecting, connected to another
 *   target or still disconnecting fails with E_BUSY_IN_TRANSITION; the same user asking for
 *   the same connected target again is a no-op.
 * - `disconnectUser` is allowed to the owner and to admins (E_PERMISSION otherwise), cancels
 *   a bring-up, and resolves when routes/DNS are reverted. Under Always-On on an untrusted
 *   network with AllowVPNDisconnect false, only admins may (E_PERMISSION, details.reason
 *   `AllowVPNDisconnect`); the block stays either way.
 */
import { DEFAULT_MACHINE_RESTART_POLICY, DEFAULT_RECONNECT_POLICY } from '@tandem/common';
import { ErrorCodes, nullLogger, TandemError, type Logger } from '@tandem/common';
import type { ClientProfile } from '@tandem/profile';
import { AlwaysOnState, type UserPolicy } from './always-on.js';
import type { Actor, EngineEvent, EngineOptions } from './engine-options.js';
import { HandoverMeter } from './handover.js';
import { MachineRestart } from './machine-restart.js';
import { NetworkOwnership } from './ownership.js';
import { PortalWatch } from './portal.js';
import { systemClock, type Clock, type TunnelKind } from './ports.js';
import { SessionMachine, type SessionRest } from './session/machine.js';
import type { SessionStateName } from './session/types.js';
import { SnapshotFeed, toSnapshot, type EngineSnapshot, type SnapshotSource } from './snapshot.js';
import { decideTunnel, reconcileStep, type SupervisorInputs } from './supervisor.js';
import { evaluateTnd, type TndResult } from './tnd.js';
import { UserTndState } from './user-tnd.js';

export type { Actor, EngineEvent, EngineOptions } from './engine-options.js';

const busy = (message: string): TandemError => new TandemError(ErrorCodes.BUSY, message);

/** The tunnel engine: supervisor + sessions + ports. */
export class Engine {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly ownership = new NetworkOwnership();
  private readonly sessions: Record<TunnelKind, SessionMachine>;
  private readonly state: SupervisorInputs;
  private readonly feed = new SnapshotFeed();
  private readonly eventListeners = new Set<(event: EngineEvent) => void>();
  private readonly handover = new HandoverMeter();
  private readonly restart: MachineRestart;
  private readonly wasUp: Record<TunnelKind, boolean> = { machine: false, user: false };
  private readonly alwaysOn: AlwaysOnState;
  private readonly portal: PortalWatch;
  private readonly userTnd = new UserTndState();
  private profile: ClientProfile | null;
  private phase: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private tndGeneration = 0;
  private userTndResult: TndResult = { verdict: 'unknown', reason: 'not evaluated yet' };
  private unsubscribeNetwork: (() => void) | null = null;
  private reconciling = false;
  private again = false;

  constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? nullLogger;
    const random = options.random ?? Math.random;
    const policy = { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect };
    const make = (kind: TunnelKind): SessionMachine => {
      const s = new SessionMachine({
        kind,
        driver: options.driver,
        clock: this.clock,
        ownership: this.ownership,
        users: options.users,
        random,
        policy,
        log: this.log.child(kind),
      });
      s.onChange((prev, rest) => this.onSessionChange(kind, prev, rest));
      return s;
    };
    this.sessions = { machine: make('machine'), user: make('user') };
    this.restart = new MachineRestart(
      this.clock,
      { ...DEFAULT_MACHINE_RESTART_POLICY, ...options.machineRestart },
      random,
      () => this.reconcile(),
    );
    this.profile = options.machineProfile ?? null;
    let portalSeen = false;
    this.portal = new PortalWatch(options.portal, this.clock, (check) => {
      this.log.info('captive portal check', { state: check.state, ...(check.detail ? { detail: check.detail } : {}) });
      // Signing in to a portal changes nothing the host sees, but it is a new chance to connect.
      if (portalSeen && check.state === 'none') this.restart.reset();
      portalSeen = check.state === 'detected';
      this.reconcile();
    });
    this.alwaysOn = new AlwaysOnState(options.firewall, options.userPolicy ?? null, (err) =>
      this.log.error('Always-On block could not be applied', {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    this.state = {
      serviceEnabled: false,
      machine: { ...machineInputs(this.profile), enabled: options.machineTunnelEnabled ?? true },
      tnd: { verdict: 'unknown', reason: 'not evaluated yet' },
      userIntent: null,
    };
  }

  /** Starts supervising: evaluates TND, follows network changes, brings up what should run. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new TandemError(ErrorCodes.USAGE, 'the engine was already started');
    this.phase = 'running';
    this.state.serviceEnabled = true;
    this.unsubscribeNetwork = this.options.network.onChange(() => {
      // Running tunnels check their own path at once; TND is re-evaluated beside them.
      this.sessions.machine.networkChanged();
      this.sessions.user.networkChanged();
      void this.networkChanged();
    });
    await this.networkChanged();
  }

  /** Asks for a user tunnel owned by `uid`; resolves once the request is accepted (see the module doc). */
  async connectUser(request: { uid: number; url: string }): Promise<void> {
    this.assertRunning();
    const intent = this.state.userIntent;
    const user = this.sessions.user;
    if (intent !== null) {
      if (intent.uid === request.uid && intent.url === request.url && user.stateName === 'connected') return;
      throw busy(
        user.stateName === 'connected'
          ? `a user tunnel (uid ${intent.uid}) is already connected; disconnect it first`
          : `a user tunnel (uid ${intent.uid}) is already being set up`,
      );
    }
    if (!user.atRest) throw busy('the previous user tunnel is still disconnecting');
    this.state.userIntent = { uid: request.uid, url: request.url };
    this.log.info('user tunnel requested', { uid: request.uid, url: request.url });
    this.reconcile();
  }

  /** Ends the user tunnel (owner or admin only); resolves once routes/DNS are reverted. */
  async disconnectUser(actor: Actor): Promise<void> {
    const user = this.sessions.user;
    const owner = this.state.userIntent?.uid ?? user.view().target?.uid;
    if (this.state.userIntent === null && user.atRest) return;
    if (owner !== undefined && owner !== actor.uid && actor.admin !== true) {
      throw new TandemError(
        ErrorCodes.PERMISSION,
        `uid ${actor.uid} may not disconnect the user tunnel of uid ${owner}`,
        { details: { owner } },
      );
    }
    // Administrators may: they could stop the agent anyway, and support needs the way out.
    const refusal = actor.admin === true ? null : this.alwaysOn.disconnectRefusal();
    if (refusal !== null)
      throw new TandemError(ErrorCodes.PERMISSION, refusal, { details: { reason: 'AllowVPNDisconnect' } });
    this.state.userIntent = null;
    this.userTnd.userDisconnected();
    const done = user.whenAtRest();
    this.reconcile();
    await done;
  }

  /** Admin switch for the machine tunnel (the IPC layer checks the admin permission). */
  setMachineTunnelEnabled(enabled: boolean): void {
    this.state.machine.enabled = enabled;
    if (enabled) this.restart.reset();
    this.reconcile();
  }

  /** Installs or removes the management tunnel profile, then re-evaluates TND. */
  async setMachineProfile(profile: ClientProfile | null): Promise<void> {
    this.profile = profile;
    Object.assign(this.state.machine, machineInputs(profile));
    await this.networkChanged();
  }

  /** Replaces the user profiles' policy and gateways, then re-evaluates TND. */
  async setUserPolicy(user: UserPolicy | null): Promise<void> {
    this.alwaysOn.setUser(user);
    await this.networkChanged();
  }

  /** Re-evaluates TND after a network change; the newest evaluation wins. */
  async networkChanged(): Promise<void> {
    if (this.phase !== 'running') return;
    const generation = ++this.tndGeneration;
    const [result, userResult] = await Promise.all([this.evaluateTnd(), this.evaluateUserTnd()]);
    if (generation !== this.tndGeneration || this.phase !== 'running') return;
    this.alwaysOn.setVerdict(userResult.verdict);
    this.alwaysOn.networkChanged();
    this.userTnd.setVerdict(userResult.verdict);
    this.userTndResult = userResult;
    this.applyUserTnd();
    this.checkPortal(result.verdict === 'trusted' || userResult.verdict === 'trusted');
    const changed = result.verdict !== this.state.tnd.verdict;
    this.state.tnd = result;
    // A new network is a new chance for a machine tunnel that failed on the old one.
    if (changed) this.restart.reset();
    this.log.info('trusted network detection', { verdict: result.verdict, reason: result.reason });
    this.reconcile();
  }

  /**
   * A user's signer connected (`signer.register`): the user profiles' UntrustedNetworkPolicy
   * Connect may start that user's tunnel now, on the verdict already known.
   */
  signersChanged(): void {
    if (this.phase !== 'running') return;
    this.applyUserTnd();
    this.reconcile();
  }

  /** Brings every tunnel down (routes/DNS reverted) and ends supervision. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.tndGeneration += 1;
    this.unsubscribeNetwork?.();
    this.restart.reset();
    this.portal.clear();
    this.state.serviceEnabled = false;
    this.reconcile();
    await Promise.all([this.sessions.machine.whenAtRest(), this.sessions.user.whenAtRest()]);
    this.publish();
    await this.alwaysOn.settled();
    this.phase = 'stopped';
    this.sessions.machine.shutdown();
    this.sessions.user.shutdown();
    this.publish();
  }

  /** A copy of the supervisor's inputs (what `desiredTunnel` sees now). */
  inputs(): SupervisorInputs {
    return structuredClone(this.state);
  }

  /** The tunnel holding routes/DNS right now. */
  get networkHolder(): TunnelKind | null {
    return this.ownership.holder;
  }

  /** The current snapshot (same seq as the last published one). */
  snapshot(): EngineSnapshot {
    return toSnapshot(this.snapshotSource(), this.feed.lastSeq);
  }

  /** Every change, as a full snapshot with an increasing seq. Returns an unsubscribe. */
  onSnapshot(listener: (snapshot: EngineSnapshot) => void): () => void {
    return this.feed.subscribe(listener);
  }

  /** Handover gaps, sessions ending on their own, machine restarts. Returns an unsubscribe. */
  onEvent(listener: (event: EngineEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private assertRunning(): void {
    if (this.phase !== 'running')
      throw new TandemError(ErrorCodes.USAGE, `the engine is ${this.phase === 'new' ? 'not started' : 'stopping'}`);
  }

  private async evaluateTnd(): Promise<TndResult> {
    if (this.profile === null) return { verdict: 'unknown', reason: 'no management tunnel profile' };
    const probe = this.options.probe;
    return evaluateTnd(
      this.profile.clientInitialization.automaticVpnPolicy,
      this.options.network.current(),
      probe ? { probe } : {},
    );
  }

  /** Acts on the user profiles' TrustedNetworkPolicy / UntrustedNetworkPolicy (user-tnd.ts). */
  private applyUserTnd(): void {
    const signers = this.options.users.signerUids?.() ?? [];
    const first = this.alwaysOn.gateways[0] ?? null;
    const { action, intent } = this.userTnd.apply(this.alwaysOn.policy, this.state.userIntent, signers, first);
    if (action === null) return;
    this.log.info('trusted network detection: user tunnel policy', { action: action.type });
    this.state.userIntent = intent;
  }

  /** Probes for a captive portal unless the network is trusted or a tunnel is up. */
  private checkPortal(trusted: boolean): void {
    const up = this.sessions.machine.stateName === 'connected' || this.sessions.user.stateName === 'connected';
    if (trusted || up || this.phase !== 'running') this.portal.clear();
    else void this.portal.check(this.alwaysOn.remediation());
  }

  private async evaluateUserTnd(): Promise<TndResult> {
    const policy = this.alwaysOn.policy;
    if (policy === null) return { verdict: 'unknown', reason: 'no user profile' };
    const probe = this.options.probe;
    return evaluateTnd(policy, this.options.network.current(), probe ? { probe } : {});
  }

  private onSessionChange(kind: TunnelKind, prev: SessionStateName, rest: SessionRest | null): void {
    const session = this.sessions[kind];
    const now = this.clock.now();
    if (session.stateName === 'connected') {
      this.alwaysOn.connected();
      this.portal.clear();
    }
    if (session.stateName === 'connected' && prev !== 'reconnecting') {
      this.wasUp[kind] = true;
      if (kind === 'machine') this.restart.succeeded();
      const done = this.handover.complete(kind, now);
      if (done) {
        this.log.info('handover complete', { from: done.from, to: done.to, gapMs: done.gapMs });
        this.emit(done);
      }
    }
    if (rest !== null) this.onRest(kind, rest, now);
    this.reconcile();
  }

  private onRest(kind: TunnelKind, rest: SessionRest, now: number): void {
    const wasUp = this.wasUp[kind];
    this.wasUp[kind] = false;
    const desired = decideTunnel(this.state).tunnel;
    const other: TunnelKind = kind === 'machine' ? 'user' : 'machine';
    if (rest.requested) {
      if (wasUp && desired === other) this.handover.begin(kind, other, now);
      return;
    }
    const v = rest.view;
    if (v.state === 'error') {
      this.alwaysOn.failed();
      // A portal is one reason a connect fails; look, so the user can be told.
      this.checkPortal(false);
    }
    this.emit({
      type: 'session-ended',
      kind,
      state: v.state,
      ...(v.cause ? { cause: v.cause } : {}),
      ...(v.message ? { message: v.message } : {}),
      at: now,
    });
    if (kind === 'user') {
      // A failed or gateway-ended user tunnel is over: the machine tunnel may come back.
      this.state.userIntent = null;
    } else {
      const { retryAt, failures } = this.restart.schedule();
      this.emit({ type: 'machine-restart-scheduled', at: now, retryAt, failures });
    }
  }

  /** Applies the planner's steps until it has nothing more to say, then publishes. */
  private reconcile(): void {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        const decision = decideTunnel(this.state);
        this.handover.retarget(decision.tunnel);
        const position = (s: SessionMachine) => {
          const target = s.view().target;
          return { state: s.stateName, stopping: s.stopping, ...(target ? { target } : {}) };
        };
        const actions = reconcileStep({
          decision,
          sessions: { machine: position(this.sessions.machine), user: position(this.sessions.user) },
          machineHeld: this.restart.held,
        });
        for (const action of actions) {
          this.log.debug('reconcile', { action: action.type, kind: action.kind, reason: decision.reason });
          if (action.type === 'stop') void this.sessions[action.kind].disconnect(true);
          else this.sessions[action.kind].connect(action.target);
        }
      } while (this.again);
    } finally {
      this.reconciling = false;
    }
    this.publish();
  }

  private publish(): void {
    const holder = this.ownership.holder;
    const plane = holder ? this.sessions[holder].view().plane : undefined;
    const tunnel = plane?.interfaceName
      ? { interfaceName: plane.interfaceName, split: plane.splitRouting?.() ?? null }
      : null;
    this.alwaysOn.update(this.state.serviceEnabled, tunnel, this.state.machine.url, this.portal.remediation());
    this.feed.publish(this.snapshotSource());
  }

  private snapshotSource(): SnapshotSource {
    const decision = decideTunnel(this.state);
    const sessions = (['machine', 'user'] as const).map((kind) => {
      const view = this.sessions[kind].view();
      const ownerUid = kind === 'user' ? (view.target?.uid ?? this.state.userIntent?.uid) : undefined;
      return { kind, view, ...(ownerUid !== undefined ? { ownerUid } : {}) };
    });
    return {
      now: this.clock.now(),
      desired: { tunnel: decision.tunnel, reason: decision.reason },
      tnd: this.state.tnd,
      userTnd: this.userTndResult,
      alwaysOn: { blocking: this.alwaysOn.current.block !== null, reason: this.alwaysOn.current.reason },
      portal: this.portal.state === 'detected' ? 'detected' : 'none',
      machineTunnelEnabled: this.state.machine.enabled,
      sessions,
    };
  }

  private emit(event: EngineEvent): void {
    for (const l of this.eventListeners) l(event);
  }
}

function machineInputs(profile: ClientProfile | null): Omit<SupervisorInputs['machine'], 'enabled'> {
  return {
    profilePresent: profile !== null,
    tndConfigured: profile?.machineTunnel?.tndConfigured === true,
    url: profile?.serverList[0]?.url ?? null,
  };
}
