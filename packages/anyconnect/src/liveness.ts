/**
 * The DPD, keepalive and rekey schedule that CSTP and DTLS both follow, after openconnect
 * (docs/protocol.md#dpd-and-keepalive): after `dpd` seconds without receiving anything, a DPD
 * request, repeated every `dpd/2` while still silent; the peer dead after `2×dpd`; a keepalive
 * after `keepalive` seconds without sending; the rekey due `rekey.seconds` after the start.
 * Each channel keeps its own clocks and acts on what one tick says is due.
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
}

/** What is due at this tick: `deadSilentMs` set means the peer is dead (nothing else applies). */
export interface LivenessDue {
  deadSilentMs: number | null;
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

/** What one tick must do. */
export function livenessDue(t: LivenessTimers, c: LivenessClocks): LivenessDue {
  const silent = c.now - c.lastRx;
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
