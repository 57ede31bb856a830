/**
 * The DPD, keepalive and rekey schedule that CSTP and DTLS both follow, after openconnect
 * (docs/protocol.md#dpd-and-keepalive): after `dpd` seconds without receiving anything, a DPD
 * request, repeated every `dpd/2` while still silent; the peer dead after `2×dpd`; a keepalive
 * after `keepalive` seconds without sending; the rekey due `rekey.seconds` after the start.
 * Each channel keeps its own clocks and acts on what one tick says is due.
 *
 * A tick that comes far too late means the process did not run: the machine slept, or the
 * process or its cgroup was frozen. When that pause was at least as long as the DPD time, the
 * gateway has had time to give up on us (and a new network may be under us), so the channel is
 * declared dead at that very tick and reconnected with the cookie, instead of waiting up to two
 * more DPD periods for a verdict the pause already gave.
 */

/** The gateway's timers for one channel, in seconds (0 = off). */
export interface LivenessTimers {
  dpd: number;
  keepalive: number;
  rekey: { seconds: number; method: string } | null;
}

/** A channel's clocks (ms, same base as `now`) and whether its rekey was already announced. */
export interface LivenessClocks {
  now: number;
  lastRx: number;
  lastTx: number;
  lastDpd: number;
  startedAt: number;
  rekeyAnnounced: boolean;
  /** When the previous tick ran (the start time before the first). */
  lastTick: number;
}

/**
 * What is due at this tick: `deadSilentMs` set means the peer is dead (nothing else applies);
 * `pausedMs` set says the death is a pause of the process (sleep, freeze) of that length.
 */
export interface LivenessDue {
  deadSilentMs: number | null;
  pausedMs?: number;
  probe: boolean;
  keepalive: boolean;
  rekey: boolean;
}

/** The tick period for `t` (a quarter of the shortest timer, 50 ms to 1 s), or null with no timer. */
export function livenessPeriodMs(t: LivenessTimers): number | null {
  const rekey = t.rekey && t.rekey.method !== 'none' ? t.rekey.seconds : 0;
  const periods = [t.dpd, t.keepalive, rekey].filter((v) => v > 0);
  return periods.length ? Math.min(1000, Math.max(50, (Math.min(...periods) * 1000) / 4)) : null;
}

/** Shortest pause taken for a sleep when the gateway sets no DPD time. */
export const MIN_PAUSE_MS = 30_000;

/** What one tick must do. */
export function livenessDue(t: LivenessTimers, c: LivenessClocks): LivenessDue {
  const silent = c.now - c.lastRx;
  const paused = c.now - c.lastTick;
  // The pause began at the latest when the next tick was due: nothing received since then
  // means nothing came from the gateway after we stopped running.
  const quietSincePause = silent >= paused - (livenessPeriodMs(t) ?? 1000);
  if (paused >= (t.dpd > 0 ? t.dpd * 1000 : MIN_PAUSE_MS) && quietSincePause) {
    return { deadSilentMs: silent, pausedMs: paused, probe: false, keepalive: false, rekey: false };
  }
  if (t.dpd > 0 && silent >= 2 * t.dpd * 1000) {
    return { deadSilentMs: silent, probe: false, keepalive: false, rekey: false };
  }
  return {
    deadSilentMs: null,
    probe: t.dpd > 0 && silent >= t.dpd * 1000 && c.now - c.lastDpd >= (t.dpd * 1000) / 2,
    keepalive: t.keepalive > 0 && c.now - c.lastTx >= t.keepalive * 1000,
    rekey:
      !c.rekeyAnnounced &&
      t.rekey !== null &&
      t.rekey.method !== 'none' &&
      t.rekey.seconds > 0 &&
      c.now - c.startedAt >= t.rekey.seconds * 1000,
  };
}
