/**
 * The status projection served by the IPC `status`/`watch` methods: per tunnel, its state,
 * gateway, addresses, counters, cause and owner — never secrets (the session cookie is not in
 * any state view, and this module copies fields one by one instead of spreading objects).
 * Every change produces a full snapshot with a larger `seq`; deltas are the IPC layer's job.
 */
import type { PlaneDetails, TunnelKind } from './ports.js';
import type { DesiredTunnel } from './supervisor.js';
import type { TndVerdict } from './tnd.js';
import type { SessionCause } from './session/cause.js';
import type { SessionStateName, StateView } from './session/types.js';

/** One tunnel in a snapshot. */
export interface TunnelSnapshot {
  kind: TunnelKind;
  state: SessionStateName;
  /** Gateway URL, when the session has or had one. */
  gateway: string | null;
  /** When the current state began (ms since the epoch). */
  since: number;
  addresses: string[];
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** Transport and routes while a plane runs (see {@link PlaneDetails}). */
  details?: PlaneDetails;
  cause?: SessionCause;
  message?: string;
  /** Owner of the user tunnel. */
  ownerUid?: number;
  /** Reconnect progress while `reconnecting`. */
  reconnect?: { attempt: number; phase: string; nextAt?: number };
}

/** The whole engine at one instant. */
export interface EngineSnapshot {
  /** Strictly increasing per engine. */
  seq: number;
  at: number;
  desired: { tunnel: DesiredTunnel; reason: string };
  /** The management profile's TND verdict (the machine tunnel's). */
  tnd: { verdict: TndVerdict; reason: string };
  /** The user profiles' TND verdict (the user tunnel's policies and Always-On). */
  userTnd: { verdict: TndVerdict; reason: string };
  /** Always-On's fail-closed block: in place or not, and why. */
  alwaysOn: { blocking: boolean; reason: string };
  /** A captive portal answers on the physical network. */
  portal: 'none' | 'detected';
  machineTunnelEnabled: boolean;
  tunnels: TunnelSnapshot[];
}

/** Projects one session's state view; reads the data plane only for addresses and counters. */
export function tunnelSnapshot(kind: TunnelKind, view: StateView, ownerUid: number | undefined): TunnelSnapshot {
  const stats = view.plane?.stats();
  const out: TunnelSnapshot = {
    kind,
    state: view.state,
    gateway: view.gateway ?? null,
    since: view.since,
    addresses: view.plane ? [...view.plane.addresses] : [],
    bytesIn: stats?.bytesIn ?? 0,
    bytesOut: stats?.bytesOut ?? 0,
    packetsIn: stats?.packetsIn ?? 0,
    packetsOut: stats?.packetsOut ?? 0,
  };
  const d = view.plane?.details?.();
  if (d) {
    const { protocol, cipher, dtls, mtu, mode4, mode6 } = d;
    out.details = { protocol, cipher, dtls, mtu, mode4, mode6, routes4: [...d.routes4], routes6: [...d.routes6] };
    if (d.dtlsNote !== undefined) out.details.dtlsNote = d.dtlsNote;
  }
  if (view.cause !== undefined) out.cause = view.cause;
  if (view.message !== undefined) out.message = view.message;
  if (kind === 'user' && ownerUid !== undefined) out.ownerUid = ownerUid;
  if (view.reconnect) {
    const r = view.reconnect;
    out.reconnect = { attempt: r.attempt, phase: r.phase, ...(r.nextAt !== undefined ? { nextAt: r.nextAt } : {}) };
  }
  return out;
}

/** The inputs of {@link toSnapshot}. */
export interface SnapshotSource {
  now: number;
  desired: { tunnel: DesiredTunnel; reason: string };
  tnd: { verdict: TndVerdict; reason: string };
  userTnd: { verdict: TndVerdict; reason: string };
  alwaysOn: { blocking: boolean; reason: string };
  portal: 'none' | 'detected';
  machineTunnelEnabled: boolean;
  sessions: Array<{ kind: TunnelKind; view: StateView; ownerUid?: number }>;
}

/** Builds a snapshot with the given `seq` (the {@link SnapshotFeed} assigns them). */
export function toSnapshot(source: SnapshotSource, seq: number): EngineSnapshot {
  return {
    seq,
    at: source.now,
    desired: { tunnel: source.desired.tunnel, reason: source.desired.reason },
    tnd: { verdict: source.tnd.verdict, reason: source.tnd.reason },
    userTnd: { verdict: source.userTnd.verdict, reason: source.userTnd.reason },
    alwaysOn: { ...source.alwaysOn },
    portal: source.portal,
    machineTunnelEnabled: source.machineTunnelEnabled,
    tunnels: source.sessions.map((s) => tunnelSnapshot(s.kind, s.view, s.ownerUid)),
  };
}

/** Numbers snapshots and hands them to subscribers. */
export class SnapshotFeed {
  private seq = 0;
  private readonly listeners = new Set<(snapshot: EngineSnapshot) => void>();

  /** The seq the last published snapshot carried (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Builds the next snapshot and sends it to every subscriber. */
  publish(source: SnapshotSource): EngineSnapshot {
    this.seq += 1;
    const snapshot = toSnapshot(source, this.seq);
    for (const l of this.listeners) l(snapshot);
    return snapshot;
  }

  /** Subscribes to every published snapshot. Returns an unsubscribe. */
  subscribe(listener: (snapshot: EngineSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
