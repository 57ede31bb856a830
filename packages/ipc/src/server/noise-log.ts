/**
 * Rate-limited warnings for what a local user can cause at will (refused connections, malformed
 * frames): the first occurrence per uid and kind is logged, later ones in the same window are
 * counted and reported as one summary line when the window ends. A flood therefore costs a few
 * log records, not one per attempt, and cannot push the administrator's records out of the log.
 */
import type { Logger } from '@tandem/common';

/** Counts per uid and kind within a window. */
export class NoiseLog {
  private readonly windows = new Map<
    string,
    { uid: number; what: string; suppressed: number; timer: NodeJS.Timeout }
  >();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs: number,
  ) {}

  /** Records one occurrence of `what` for `uid`. */
  note(uid: number, what: string, fields: Record<string, unknown> = {}): void {
    const key = `${uid}\0${what}`;
    const open = this.windows.get(key);
    if (open) {
      open.suppressed++;
      return;
    }
    this.logger.warn(what, { uid, ...fields });
    const timer = setTimeout(() => this.flush(key), this.windowMs);
    timer.unref();
    this.windows.set(key, { uid, what, suppressed: 0, timer });
  }

  /** Ends every window now (agent shutdown), writing the summaries still due. */
  close(): void {
    for (const key of [...this.windows.keys()]) this.flush(key);
  }

  private flush(key: string): void {
    const w = this.windows.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.suppressed > 0) {
      this.logger.warn(`${w.what} (repeated)`, { uid: w.uid, count: w.suppressed, windowMs: this.windowMs });
    }
  }
}
