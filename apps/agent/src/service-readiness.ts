/**
 * When tandemd tells systemd it is ready, and what `systemctl status` says afterwards.
 *
 * Ready means: the IPC socket accepts connections (the agent calls {@link ServiceReadiness.start}
 * only after `listen()` resolved) AND the engine has made its first machine-tunnel decision,
 * i.e. Trusted Network Detection has been evaluated for the network at start and the supervisor
 * derived the tunnel from it (`connecting`, or off with the reason). `engine.start()` normally
 * resolves exactly then; but when the network changes during the first evaluation (DHCP at boot
 * rewriting resolv.conf), the first evaluation is dropped for the newer one and `start()`
 * resolves before any decision. Readiness then waits for the first snapshot whose TND result
 * differs from the engine's pre-start one, at most {@link DECISION_WAIT_MS}: a network that keeps
 * changing must not make systemd fail the start, so after that READY=1 is sent anyway and the
 * status says the decision is still pending.
 */
import type { EngineSnapshot, TunnelSnapshot } from '@tandem/engine';
import type { ServiceNotifier } from './sd-notify.js';

/** Longest wait for the first decision after `engine.start()` resolved (well below TimeoutStartSec). */
export const DECISION_WAIT_MS = 10_000;

/** What readiness needs of the engine. */
export interface SnapshotSource {
  snapshot(): EngineSnapshot;
  onSnapshot(listener: (snapshot: EngineSnapshot) => void): () => void;
}

const tunnel = (snap: EngineSnapshot, kind: 'machine' | 'user'): TunnelSnapshot | undefined =>
  snap.tunnels.find((t) => t.kind === kind);

const stateOf = (t: TunnelSnapshot): string => (t.cause ? `${t.state} [${t.cause}]` : t.state);

/** The machine tunnel's part of the status line: its state and why it runs, or why not. */
export function machineTunnelStatus(snap: EngineSnapshot): string {
  const machine = tunnel(snap, 'machine');
  const wanted = snap.desired.tunnel === 'machine';
  const atRest = machine === undefined || machine.state === 'idle';
  if (wanted) return `machine tunnel: ${machine ? stateOf(machine) : 'idle'} (${snap.desired.reason})`;
  if (!atRest) return `machine tunnel: ${stateOf(machine)}`;
  return `machine tunnel: off (${snap.desired.reason})`;
}

/** The whole STATUS= line: the socket, the machine tunnel, and the user tunnel when it is not idle. */
export function serviceStatus(socketPath: string, snap: EngineSnapshot): string {
  const user = tunnel(snap, 'user');
  const userPart = user && user.state !== 'idle' ? `; user tunnel: ${stateOf(user)}` : '';
  return `listening on ${socketPath}; ${machineTunnelStatus(snap)}${userPart}`;
}

/** True once `snap` carries a TND result other than the engine's state before start. */
function decided(snap: EngineSnapshot, before: EngineSnapshot): boolean {
  return snap.tnd.verdict !== before.tnd.verdict || snap.tnd.reason !== before.tnd.reason;
}

/** Sends READY=1 at the readiness point (module doc), then STATUS= on every change, STOPPING=1 at stop. */
export class ServiceReadiness {
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ready = false;
  private stopped = false;

  /**
   * @param before the engine's snapshot taken before `engine.start()` (TND not yet evaluated)
   */
  constructor(
    private readonly notifier: ServiceNotifier,
    private readonly socketPath: string,
    private readonly engine: SnapshotSource,
    private readonly before: EngineSnapshot,
    private readonly waitMs = DECISION_WAIT_MS,
  ) {}

  /** Call once the socket listens and `engine.start()` resolved. */
  start(): void {
    if (!this.notifier.active || this.stopped || this.unsubscribe) return;
    this.unsubscribe = this.engine.onSnapshot((snap) => this.onSnapshot(snap));
    const now = this.engine.snapshot();
    if (decided(now, this.before)) {
      this.sendReady(now, '');
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sendReady(this.engine.snapshot(), ' (network trust still being evaluated)');
    }, this.waitMs);
    this.timer.unref();
  }

  /** Sends STOPPING=1 and stops following the engine. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.notifier.stopping('stopping: tearing tunnels down, reverting routes and DNS');
  }

  private onSnapshot(snap: EngineSnapshot): void {
    if (this.stopped) return;
    if (this.ready) this.notifier.status(serviceStatus(this.socketPath, snap));
    else if (decided(snap, this.before)) this.sendReady(snap, '');
  }

  private sendReady(snap: EngineSnapshot, suffix: string): void {
    if (this.ready || this.stopped) return;
    this.ready = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.notifier.ready(`${serviceStatus(this.socketPath, snap)}${suffix}`);
  }
}
