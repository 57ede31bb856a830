/**
 * The engine's public shapes besides the class: its options (ports and settings), the caller of
 * a control method, and the events it emits beside snapshots.
 */
import type { BackoffPolicy, Logger, ReconnectPolicy } from '@tandem/common';
import type { ClientProfile } from '@tandem/profile';
import type { Firewall, UserPolicy } from './always-on.js';
import type { HandoverEvent } from './handover.js';
import type { PortalProbe } from './portal.js';
import type { Clock, NetworkObserver, TrustedServerProbe, TunnelDriver, TunnelKind, UserPresence } from './ports.js';
import type { SessionCause } from './session/cause.js';
import type { SessionStateName } from './session/types.js';

/** Ports and settings of an {@link Engine}. */
export interface EngineOptions {
  driver: TunnelDriver;
  network: NetworkObserver;
  users: UserPresence;
  /** Needed when the management profile uses TrustedHttpsServerList. */
  probe?: TrustedServerProbe;
  clock?: Clock;
  /** Source of jitter; Math.random by default. */
  random?: () => number;
  log?: Logger;
  /** The management tunnel profile, if one is installed. */
  machineProfile?: ClientProfile | null;
  /** Admin switch for the machine tunnel (default on). */
  machineTunnelEnabled?: boolean;
  reconnect?: Partial<ReconnectPolicy>;
  /** Backoff before restarting a machine tunnel that failed or was ended by the gateway. */
  machineRestart?: Partial<BackoffPolicy>;
  /** The user profiles' AutomaticVPNPolicy and gateways (Always-On, TND for the user tunnel). */
  userPolicy?: UserPolicy | null;
  /** Always-On's fail-closed block; without it Always-On never blocks. */
  firewall?: Firewall;
  /** Captive-portal detection; without it no portal is ever reported. */
  portal?: PortalProbe;
}

/** The caller of a control method, as the IPC layer identified it. */
export interface Actor {
  uid: number;
  admin?: boolean;
}

/** Things worth telling clients that a snapshot alone does not say. */
export type EngineEvent =
  | HandoverEvent
  | {
      type: 'session-ended';
      kind: TunnelKind;
      state: SessionStateName;
      cause?: SessionCause;
      message?: string;
      at: number;
    }
  | { type: 'machine-restart-scheduled'; at: number; retryAt: number; failures: number };
