/**
 * Measures the handover gap: the time between one tunnel's routes/DNS being reverted (its
 * `close()` resolved because the supervisor switched tunnels) and the other tunnel being
 * connected. That is the window without any tunnel, which R7 wants known and small.
 */
import type { TunnelKind } from './ports.js';

/** One completed handover. */
export interface HandoverEvent {
  type: 'handover';
  from: TunnelKind;
  to: TunnelKind;
  /** When the old tunnel's close() resolved. */
  closedAt: number;
  /** When the new tunnel reached `connected`. */
  connectedAt: number;
  /** `connectedAt - closedAt`: time without a tunnel. */
  gapMs: number;
}

/** Remembers a handover in progress until the new tunnel connects or the plan changes. */
export class HandoverMeter {
  private pending: { from: TunnelKind; to: TunnelKind; closedAt: number } | null = null;

  /** The old tunnel, which was connected, has been closed in favour of `to`. */
  begin(from: TunnelKind, to: TunnelKind, closedAt: number): void {
    this.pending = { from, to, closedAt };
  }

  /** `kind` reached `connected`; returns the completed handover if it was the awaited one. */
  complete(kind: TunnelKind, connectedAt: number): HandoverEvent | null {
    const p = this.pending;
    if (p === null || p.to !== kind) return null;
    this.pending = null;
    return {
      type: 'handover',
      from: p.from,
      to: p.to,
      closedAt: p.closedAt,
      connectedAt,
      gapMs: connectedAt - p.closedAt,
    };
  }

  /** Forgets the pending handover when the desired tunnel is no longer its target. */
  retarget(desired: TunnelKind | 'none'): void {
    if (this.pending !== null && this.pending.to !== desired) this.pending = null;
  }
}
