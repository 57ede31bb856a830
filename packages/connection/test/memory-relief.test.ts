import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { trimMalloc } from '@tandem/tunnel';
import { onQuiet, releaseMemory, RELIEF_INTERVAL_MS, RELIEF_MIN_PACKETS } from '../src/memory-relief.js';

describe('memory relief after traffic', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('releases once per burst, after the counter has stood still for one interval', () => {
    let packets = 7;
    const release = vi.fn();
    const stop = onQuiet(() => packets, release);
    // Idle from the start: nothing to give back.
    vi.advanceTimersByTime(5 * RELIEF_INTERVAL_MS);
    expect(release).not.toHaveBeenCalled();
    // A burst spanning several checks: nothing while it lasts.
    for (let i = 0; i < 4; i++) {
      packets += RELIEF_MIN_PACKETS;
      vi.advanceTimersByTime(RELIEF_INTERVAL_MS);
    }
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(RELIEF_INTERVAL_MS);
    expect(release).toHaveBeenCalledTimes(1);
    // Still quiet: no second release.
    vi.advanceTimersByTime(10 * RELIEF_INTERVAL_MS);
    expect(release).toHaveBeenCalledTimes(1);
    // A trickle (keepalives, a ping) is not a burst.
    packets += 3;
    vi.advanceTimersByTime(3 * RELIEF_INTERVAL_MS);
    expect(release).toHaveBeenCalledTimes(1);
    // The next burst counts from the last release.
    packets += RELIEF_MIN_PACKETS;
    vi.advanceTimersByTime(2 * RELIEF_INTERVAL_MS);
    expect(release).toHaveBeenCalledTimes(2);
    stop();
    packets += 10 * RELIEF_MIN_PACKETS;
    vi.advanceTimersByTime(5 * RELIEF_INTERVAL_MS);
    expect(release).toHaveBeenCalledTimes(2);
  });

  it('stop clears its timer', () => {
    const stop = onQuiet(
      () => 0,
      () => {},
    );
    expect(vi.getTimerCount()).toBe(1);
    stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('trims the C heap through glibc', () => {
    expect(trimMalloc()).toBe(true);
  });

  it('releaseMemory runs a full collection when the process exposes gc', () => {
    const gc = vi.fn();
    (globalThis as { gc?: () => void }).gc = gc;
    try {
      releaseMemory();
      expect(gc).toHaveBeenCalledTimes(1);
      vi.runAllTimers();
    } finally {
      delete (globalThis as { gc?: () => void }).gc;
    }
  });
});
