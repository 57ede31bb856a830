/**
 * Gives memory back once a tunnel goes quiet. A burst of traffic leaves the process holding
 * memory it no longer uses: dead packet buffers that V8 frees only at its next full collection
 * (external memory may grow by tens of MiB before it schedules one), and holes in the C heap
 * that glibc keeps resident. A long-lived agent with an idle tunnel should not carry that, so
 * when the packet counters have stood still for one check interval after a burst, a full
 * collection runs (where the process was started with `--expose-gc`, as tandemd is) and the C
 * heap is trimmed; the same happens when a tunnel closes. Measured with bench/run.mjs: an idle
 * agent after 2 × 20 s of iperf3 went from ~95 MiB to ~75 MiB resident. Cost while idle: one
 * counter read per interval.
 */
import { trimMalloc } from '@tandem/tunnel';

/** How often the counters are compared; memory is released 1–2 intervals after the last packet of a burst. */
export const RELIEF_INTERVAL_MS = 15_000;
/** V8 frees the backing stores of dead ArrayBuffers on a background sweeper after the collection. */
const SWEEP_GRACE_MS = 500;

/** Runs a full collection when the process allows it, then trims the C heap. */
export function releaseMemory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  setTimeout(trimMalloc, gc ? SWEEP_GRACE_MS : 0).unref();
}

/**
 * A burst worth releasing after: ~1.5 MB of 1500-byte packets. DPD, a ping or a DNS lookup
 * leave next to no garbage, and a release (a full collection) costs a few milliseconds of CPU.
 */
export const RELIEF_MIN_PACKETS = 1000;

/**
 * Calls `release` each time `activity` (a packet counter) stops moving after it grew by at least
 * `minActivity` since the last release. Returns a stop function. The timer never keeps the
 * process alive.
 */
export function onQuiet(
  activity: () => number,
  release: () => void = releaseMemory,
  options: { intervalMs?: number; minActivity?: number } = {},
): () => void {
  const minActivity = options.minActivity ?? RELIEF_MIN_PACKETS;
  let released = activity();
  let last = released;
  const timer = setInterval(() => {
    const now = activity();
    if (now !== last) {
      last = now;
      return;
    }
    if (now - released < minActivity) return;
    released = now;
    release();
  }, options.intervalMs ?? RELIEF_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
