import { describe, expect, it } from 'vitest';
import { livenessDue, MIN_PAUSE_MS, type LivenessClocks, type LivenessTimers } from '../src/liveness.js';

const timers: LivenessTimers = { dpd: 20, keepalive: 10, rekey: null };
const clocks = (over: Partial<LivenessClocks>): LivenessClocks => ({
  now: 100_000,
  lastRx: 99_500,
  lastTx: 99_500,
  lastDpd: 0,
  startedAt: 0,
  rekeyAnnounced: false,
  lastTick: 99_000,
  ...over,
});

describe('liveness after a pause (sleep or freeze)', () => {
  it('declares the peer dead at the first tick after a silent pause as long as DPD', () => {
    const due = livenessDue(timers, clocks({ lastTick: 79_000, lastRx: 78_900 }));
    expect(due.deadSilentMs).toBe(21_100);
    expect(due.pausedMs).toBe(21_000);
  });

  it('only probes after a pause shorter than DPD, even when silent for DPD', () => {
    const due = livenessDue(timers, clocks({ lastTick: 85_000, lastRx: 79_000 }));
    expect(due.deadSilentMs).toBeNull();
    expect(due.pausedMs).toBeUndefined();
    expect(due.probe).toBe(true);
  });

  it('does not call a pause death when the gateway was heard after it', () => {
    const due = livenessDue(timers, clocks({ lastTick: 70_000, lastRx: 99_990 }));
    expect(due.deadSilentMs).toBeNull();
  });

  it('counts what arrived between the last tick and the pause as before the pause', () => {
    // Tick period here is 1 s: a DPD answer 400 ms after the last tick came before the freeze.
    const due = livenessDue(timers, clocks({ lastTick: 70_000, lastRx: 70_400 }));
    expect(due.pausedMs).toBe(30_000);
    expect(livenessDue(timers, clocks({ lastTick: 70_000, lastRx: 71_200 })).pausedMs).toBeUndefined();
  });

  it('uses a fixed floor when the gateway sets no DPD time', () => {
    const noDpd = { ...timers, dpd: 0 };
    expect(livenessDue(noDpd, clocks({ lastTick: 100_000 - MIN_PAUSE_MS + 1, lastRx: 0 })).deadSilentMs).toBeNull();
    expect(livenessDue(noDpd, clocks({ lastTick: 100_000 - MIN_PAUSE_MS, lastRx: 0 })).pausedMs).toBe(MIN_PAUSE_MS);
  });

  it('still declares death after 2×DPD of silence with regular ticks', () => {
    const due = livenessDue(timers, clocks({ lastTick: 99_000, lastRx: 60_000 }));
    expect(due.deadSilentMs).toBe(40_000);
    expect(due.pausedMs).toBeUndefined();
  });
});
