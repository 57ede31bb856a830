/**
 * Following one connect attempt through the agent's `state` events until the user tunnel is
 * `connected` or has failed. Pure bookkeeping over snapshots, so it is easy to reason about:
 * - until the user tunnel differs from what it was before our request, what we see is old news
 *   (say, the `error` of an earlier attempt, repeated by an event about the machine tunnel);
 * - `idle` only counts as a failure once the attempt was seen under way (the agent may hold the
 *   request while the machine tunnel goes down);
 * - the first `connected` or `error` decides; later snapshots change nothing. That makes the
 *   order in which the `connect` reply and nearby events are fed irrelevant.
 */
import type { TunnelSnapshot } from '@tandem/contract';
import { tunnelLine } from './format.js';

/** How an attempt ended. */
export type Outcome = { kind: 'connected'; tunnel: TunnelSnapshot } | { kind: 'failed'; tunnel: TunnelSnapshot };

/** Feeds user-tunnel snapshots in order; `outcome` resolves once the attempt is decided. */
export class AttemptTracker {
  /** Resolves with the attempt's end. */
  readonly outcome: Promise<Outcome>;
  private settle: (o: Outcome) => void = () => undefined;
  private underWay = false;
  private changed = false;
  private decided = false;
  private lastLine = '';

  /**
   * `before` is the user tunnel as it was before the request; `progress` receives one human line
   * per visible step (stage changes, reconnect attempts).
   */
  constructor(
    private readonly before: TunnelSnapshot,
    private readonly progress: (line: string) => void,
  ) {
    this.outcome = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /**
   * Looks at the user tunnel's next known state. `fromReply` marks the `connect` reply itself: a
   * tunnel already connected there is our answer even though nothing changed (already up).
   */
  observe(tunnel: TunnelSnapshot, fromReply = false): void {
    if (this.decided) return;
    if (fromReply && tunnel.status.state === 'connected') return this.finish({ kind: 'connected', tunnel });
    if (!this.changed && JSON.stringify(tunnel.status) === JSON.stringify(this.before.status)) return;
    this.changed = true;
    const s = tunnel.status;
    if (s.state === 'connected') return this.finish({ kind: 'connected', tunnel });
    if (s.state === 'error') return this.finish({ kind: 'failed', tunnel });
    if (s.state === 'idle') {
      if (this.underWay) this.finish({ kind: 'failed', tunnel });
      return;
    }
    this.underWay = true;
    const line = tunnelLine(tunnel);
    if (line !== this.lastLine) this.progress(line);
    this.lastLine = line;
  }

  private finish(o: Outcome): void {
    this.decided = true;
    this.settle(o);
  }
}
