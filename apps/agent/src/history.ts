/**
 * What happened to the tunnels, for the diagnostic bundle: every state change of either tunnel
 * (from the engine's snapshots), and the last failure of each. Kept in memory, bounded, never a
 * secret (snapshots carry none). The bundle's summary shows the last 20 transitions and
 * events.jsonl the whole ring; a non-administrator's bundle only holds the machine tunnel's
 * entries and those of user tunnels the caller owned.
 */
import type { Logger } from '@tandem/common';
import type { EngineSnapshot, TunnelSnapshot } from '@tandem/engine';
import { wireState } from './snapshot-map.js';

/** One state change of one tunnel. */
export interface Transition {
  /** Wall clock (ISO) and the agent's monotonic clock (ms since its start). */
  time: string;
  mono: number;
  tunnel: 'machine' | 'user';
  from: string;
  to: string;
  gateway?: string;
  /** The user tunnel's owner. */
  uid?: number;
  /** The failure's stable code and words, for a change into `error` or `reconnecting`. */
  code?: string;
  message?: string;
  /** Why the supervisor wants what it wants at this moment (handover, TND, disabled…). */
  desired?: string;
}

/** Transitions kept: a busy day of reconnects fits; each entry is a few hundred bytes. */
const CAPACITY = 500;

/** The ring of transitions and the last error per tunnel. */
export class TunnelHistory {
  private readonly entries: Transition[] = [];
  private readonly last = new Map<string, TunnelSnapshot>();
  private readonly lastError = new Map<'machine' | 'user', Transition>();

  /**
   * `log` receives each failure as a warning (the tunnel retries) or an error (it gave up), so
   * `journalctl -p warning -u tandemd` lists what went wrong and why, with the stable code.
   */
  constructor(private readonly log?: Logger) {}

  /** Feeds one engine snapshot; records each tunnel whose state changed. */
  observe(snapshot: EngineSnapshot): void {
    for (const t of snapshot.tunnels) {
      const before = this.last.get(t.kind);
      this.last.set(t.kind, t);
      if (before?.state === t.state && before.gateway === t.gateway) continue;
      const code = codeOf(t);
      const entry: Transition = {
        time: new Date(snapshot.at).toISOString(),
        mono: Math.round(performance.now()),
        tunnel: t.kind,
        from: before?.state ?? 'start',
        to: t.state,
        ...(t.gateway ? { gateway: t.gateway } : {}),
        ...(t.ownerUid !== undefined ? { uid: t.ownerUid } : {}),
        ...(code ? { code } : {}),
        ...(t.message !== undefined ? { message: t.message.slice(0, 1024) } : {}),
        desired: `${snapshot.desired.tunnel}: ${snapshot.desired.reason}`.slice(0, 256),
      };
      this.entries.push(entry);
      if (this.entries.length > CAPACITY) this.entries.shift();
      if (t.state === 'error' || (t.cause !== undefined && t.state === 'reconnecting')) {
        this.lastError.set(t.kind, entry);
        const fields = { tunnel: t.kind, code: entry.code, gateway: entry.gateway, reason: entry.message };
        if (t.state === 'error') this.log?.error(`${t.kind} tunnel failed`, fields);
        else this.log?.warn(`${t.kind} tunnel lost; reconnecting`, fields);
      }
    }
  }

  /** The transitions a caller may see, oldest first (`uid` null: everything). */
  transitions(uid: number | null): Transition[] {
    return this.entries.filter((e) => visible(e, uid));
  }

  /** The last failure of a tunnel, if the caller may see it. */
  lastFailure(tunnel: 'machine' | 'user', uid: number | null): Transition | undefined {
    const e = this.lastError.get(tunnel);
    return e && visible(e, uid) ? e : undefined;
  }
}

/** The stable code of a failed or reconnecting tunnel, as `status` reports it (E_…). */
function codeOf(t: TunnelSnapshot): string | undefined {
  if (t.cause === undefined) return undefined;
  const wire = wireState(t);
  return 'cause' in wire && wire.cause ? wire.cause.code : undefined;
}

/** Machine tunnel entries are everyone's; a user tunnel's belong to its owner (and admins). */
function visible(e: Transition, uid: number | null): boolean {
  return uid === null || e.tunnel === 'machine' || e.uid === undefined || e.uid === uid;
}
