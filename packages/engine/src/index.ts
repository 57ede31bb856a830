/**
 * @tandem/engine — the tunnel engine: one state machine per tunnel (session/, one file per
 * state), a supervisor deriving which tunnel should run (none, machine or user), trusted
 * network detection, and the status snapshot. Pure: all I/O goes through the ports of
 * ports.ts, which the agent implements with real adapters.
 */
export * from './ports.js';
export { Engine, type EngineOptions, type EngineEvent, type Actor } from './engine.js';
export {
  decideTunnel,
  desiredTunnel,
  reconcileStep,
  type DesiredTunnel,
  type DesiredDecision,
  type SupervisorInputs,
  type SessionPosition,
  type ReconcileAction,
  type ReconcileView,
} from './supervisor.js';
export {
  evaluateTnd,
  matchDns,
  wildcardMatch,
  certificateHash,
  type TndResult,
  type TndVerdict,
  type TndOptions,
} from './tnd.js';
export {
  toSnapshot,
  tunnelSnapshot,
  SnapshotFeed,
  type EngineSnapshot,
  type TunnelSnapshot,
  type SnapshotSource,
} from './snapshot.js';
export { NetworkOwnership } from './ownership.js';
export type { HandoverEvent } from './handover.js';
export { SessionMachine, isRestState, type SessionDeps, type SessionRest } from './session/machine.js';
export { causeOf, isTransient, type SessionCause, type CauseDetail } from './session/cause.js';
export type { SessionStateName, SessionTarget, SessionEvent, StateView } from './session/types.js';
export {
  alwaysOnEnabled,
  decideBlock,
  localRules,
  BlockApplier,
  type AlwaysOnDecision,
  type AlwaysOnInputs,
  type BlockRequest,
  type Firewall,
  type OpenTunnel,
  type UserPolicy,
} from './always-on.js';
export {
  PortalWatch,
  PORTAL_RECHECK_MS,
  type PortalCheck,
  type PortalProbe,
  type RemediationPolicy,
} from './portal.js';
export { userTndAction, type UserIntent, type UserTndAction, type UserTndInputs } from './user-tnd.js';
