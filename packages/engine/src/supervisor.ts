/**
 * Which tunnel should exist, and the next steps toward it. Both halves are pure: the derivation
 * (`desiredTunnel`, tailscale `nextStateLocked` style) looks only at inputs, and the planner
 * (`reconcileStep`) looks only at the desired tunnel and where the sessions are. engine.ts
 * applies the plan and calls the planner again after every change.
 *
 * Handover rule (wireguard-windows "stop intersecting tunnels first"): a session starts only
 * when the other one is at rest, i.e. its `close()` resolved and routes/DNS are reverted.
 */
import type { TndResult } from './tnd.js';
import type { TunnelKind } from './ports.js';
import type { SessionStateName, SessionTarget } from './session/types.js';

/** The derived answer. */
export type DesiredTunnel = 'none' | TunnelKind;

/** Everything the derivation looks at. */
export interface SupervisorInputs {
  /** False while the agent is stopping (or before it started). */
  serviceEnabled: boolean;
  machine: {
    /** A management tunnel profile is installed. */
    profilePresent: boolean;
    /** The admin has not disabled the machine tunnel. */
    enabled: boolean;
    /** The profile has TND configuration (without it the tunnel never starts: docs/profile.md#management-tunnel). */
    tndConfigured: boolean;
    /** The profile's first HostEntry URL, null if it has none. */
    url: string | null;
  };
  /** Trusted network detection, evaluated with the management profile's policy. */
  tnd: TndResult;
  /** A user asked for a user tunnel and has not disconnected (nor has it failed since). */
  userIntent: { uid: number; url: string } | null;
}

/** The derived tunnel with the reason, for status and logs. */
export interface DesiredDecision {
  tunnel: DesiredTunnel;
  reason: string;
  target?: SessionTarget;
}

/**
 * Derives the tunnel that should run. A user tunnel the user asked for wins over everything
 * but shutdown (TND never tears down a tunnel started by hand: docs/profile.md#trusted-network-detection-and-always-on); otherwise the
 * machine tunnel runs exactly when its profile allows it and the network is untrusted.
 */
export function decideTunnel(inputs: SupervisorInputs): DesiredDecision {
  if (!inputs.serviceEnabled) return { tunnel: 'none', reason: 'service stopped' };
  if (inputs.userIntent) {
    return {
      tunnel: 'user',
      reason: `user ${inputs.userIntent.uid} asked to connect`,
      target: { url: inputs.userIntent.url, uid: inputs.userIntent.uid },
    };
  }
  const m = inputs.machine;
  if (!m.profilePresent) return { tunnel: 'none', reason: 'no management tunnel profile' };
  if (!m.enabled) return { tunnel: 'none', reason: 'machine tunnel disabled' };
  if (!m.tndConfigured) return { tunnel: 'none', reason: 'TND not configured' };
  if (m.url === null) return { tunnel: 'none', reason: 'management profile has no HostEntry' };
  if (inputs.tnd.verdict === 'trusted') return { tunnel: 'none', reason: `trusted network: ${inputs.tnd.reason}` };
  if (inputs.tnd.verdict === 'unknown')
    return { tunnel: 'none', reason: `network trust unknown: ${inputs.tnd.reason}` };
  return { tunnel: 'machine', reason: `untrusted network: ${inputs.tnd.reason}`, target: { url: m.url } };
}

/** {@link decideTunnel} without the reason. */
export function desiredTunnel(inputs: SupervisorInputs): DesiredTunnel {
  return decideTunnel(inputs).tunnel;
}

/** Where one session is, as the planner needs it. */
export interface SessionPosition {
  state: SessionStateName;
  /** A stop was already sent. */
  stopping: boolean;
  target?: SessionTarget;
}

/** One step the engine should take. */
export type ReconcileAction =
  { type: 'stop'; kind: TunnelKind } | { type: 'start'; kind: TunnelKind; target: SessionTarget };

/** What the planner looks at. */
export interface ReconcileView {
  decision: DesiredDecision;
  sessions: Record<TunnelKind, SessionPosition>;
  /** The machine tunnel ended on its own and must not restart before this time. */
  machineHeld: boolean;
}

const atRest = (s: SessionPosition): boolean => s.state === 'idle' || s.state === 'error';
const sameTarget = (a: SessionTarget | undefined, b: SessionTarget | undefined): boolean =>
  a?.url === b?.url && a?.uid === b?.uid;

/**
 * The next actions toward the desired tunnel: stop every session that should not run (or
 * runs toward the wrong target), and start the desired one only once the other is at rest.
 */
export function reconcileStep(view: ReconcileView): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  const { decision, sessions } = view;
  for (const kind of ['machine', 'user'] as const) {
    const s = sessions[kind];
    const wanted = decision.tunnel === kind && sameTarget(s.target, decision.target);
    if (!atRest(s) && !s.stopping && !wanted) actions.push({ type: 'stop', kind });
  }
  if (decision.tunnel === 'none' || decision.target === undefined) return actions;
  const kind = decision.tunnel;
  const other = sessions[kind === 'machine' ? 'user' : 'machine'];
  if (!atRest(other)) return actions; // wait for its close() to resolve
  if (!atRest(sessions[kind])) return actions; // running, or still stopping from an old target
  if (kind === 'machine' && view.machineHeld) return actions;
  actions.push({ type: 'start', kind, target: decision.target });
  return actions;
}
