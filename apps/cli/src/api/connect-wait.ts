/**
 * Following one connect attempt through the agent's `state` events until the user tunnel is
 * `connected` or has failed. Pure bookkeeping over snapshots, so it is easy to reason about:
 * events from before our request are ignored, and `idle` only counts as a failure once the
 * attempt was seen under way (the agent may hold the request while the machine tunnel goes down).
 */
import type { TunnelSnapshot } from '@tandem/contract';
import { tunnelLine } from './format.js';

/** How an attempt ended. */
export type Outcome =
  | { kind: 'connected'; tunnel: TunnelSnapshot }
  | { kind: 'failed'; tunnel: TunnelSnapshot };

/** Feeds user-tunnel snapshots in order; `outcome` resolves once the attempt is decided. */
export class AttemptTracker {
  /** Resolves with the attempt's end. */
  readonly outcome: Promise<Outcome>;
  private settle: (o: Outcome) => void = () => undefined;
  private underWay = false;
  private decided = false;
  private lastLine = '';

  /** `progress` receives one human line per visible step (stage changes, reconnect attempts). */
  constructor(private readonly progress: (line: string) => void) {
    this.outcome = new Promise((resolve) => { this.settle = resolve; });
  }

  /** Looks at the user tunnel's next known state. */
  observe(tunnel: TunnelSnapshot): void {
    if (this.decided) return;
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
