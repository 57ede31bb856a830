/**
 * A {@link Clock} on simulated time for many engines at once. vitest's fake timers scan every
 * pending timer to find the next one and flush promises between timers one by one, which is too
 * slow for 10,000 engines; this keeps its timers in a binary heap and, after running the timers
 * due at one instant, lets every promise chain they started settle before time moves on.
 */
import { setImmediate as macrotask } from 'node:timers/promises';
import type { Clock, TimerHandle } from '@tandem/engine';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Simulated time: `setTimeout` callbacks run only inside {@link FakeClock.runUntil}. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap: Timer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
  }

  /** Timers still waiting (cancelled ones may be counted until they reach the top). */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs every timer due up to `end` in time order, letting promises settle after each instant,
   * then sets the time to `end`. Stops early (at the instant it was true) when `stop()` says so.
   */
  async runUntil(end: number, stop: () => boolean = () => false): Promise<void> {
    await macrotask();
    while (this.heap.length > 0 && this.heap[0]!.at <= end && !stop()) {
      const at = this.heap[0]!.at;
      this.time = at;
      while (this.heap.length > 0 && this.heap[0]!.at === at) {
        const timer = this.pop();
        if (!timer.cancelled) timer.callback();
      }
      // Every promise chain the callbacks started (driver ops, engine events) settles here.
      await macrotask();
    }
    if (!stop()) this.time = Math.max(this.time, end);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
