/**
 * The soak's view of the tunnel: a UDP echo every `intervalMs` (200 ms) through the tunnel to the
 * echo responder behind the gateway, for the whole run (probe.mjs, SAMPLER). Two questions are
 * answered from the same samples: "when did traffic cross the tunnel again after time T" (the
 * first echo of a probe sent at or after T) and "how long was the tunnel unusable" (ticks whose
 * echo did not come back within `freshMs`). Times are CLOCK_MONOTONIC nanoseconds
 * (process.hrtime.bigint(), system-wide), comparable with the soak's own clock.
 */
import { SAMPLER } from './probe.mjs';
import { nsSpawn, sleep } from './sh.mjs';

/** A tick counts as "tunnel working" only if its echo came back within this many milliseconds. */
export const FRESH_MS = 1000;

/** Monotonic now, in ns. */
export const now = () => process.hrtime.bigint();

/** A running sampler. */
export class TunnelSampler {
  /**
   * @param {string} ns the client namespace
   * @param {string} target the echo responder's address (only reachable through the tunnel)
   * @param {number} intervalMs time between probes
   */
  constructor(ns, target, intervalMs = 200) {
    this.intervalMs = intervalMs;
    /** Send times of every tick, in order. */
    this.ticks = [];
    /** Send time → receive time, for the ticks that were echoed. */
    this.echoes = new Map();
    /** Pending {@link trafficAfter} calls. */
    this.waiters = new Set();
    this.child = nsSpawn(ns, process.execPath, ['-e', SAMPLER, target, String(intervalMs)]);
    this.ready = false;
    let buf = '';
    this.child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) this.line(line);
    });
    this.child.stderr.resume();
  }

  /** Resolves once the sampler runs. */
  async started() {
    for (let i = 0; !this.ready; i++) {
      if (i > 500 || this.child.exitCode !== null) throw new Error('the tunnel sampler did not start');
      await sleep(10);
    }
  }

  line(line) {
    if (line === 'ready') this.ready = true;
    const [kind, a, b] = line.split(' ');
    if (kind === 's') this.ticks.push(BigInt(a));
    if (kind !== 'r') return;
    const sent = BigInt(a);
    const received = BigInt(b);
    this.echoes.set(sent, received);
    for (const w of this.waiters) {
      if (sent >= w.after) {
        this.waiters.delete(w);
        w.resolve(received);
      }
    }
  }

  /**
   * The receive time of the first echo of a probe sent at or after `after`, or null if none came
   * within `capMs` of calling.
   * @returns {Promise<bigint|null>}
   */
  trafficAfter(after, capMs) {
    for (const [sent, received] of this.echoes) if (sent >= after) return Promise.resolve(received);
    return new Promise((resolve) => {
      const w = { after, resolve };
      this.waiters.add(w);
      setTimeout(() => {
        if (this.waiters.delete(w)) resolve(null);
      }, capMs).unref();
    });
  }

  /** Milliseconds in [from, to] (ns) during which the tunnel did not work: ticks without a fresh echo. */
  downtimeMs(from, to) {
    const fresh = BigInt(FRESH_MS) * 1_000_000n;
    let down = 0;
    for (const t of this.ticks) {
      if (t < from || t > to) continue;
      const r = this.echoes.get(t);
      if (r === undefined || r - t > fresh) down++;
    }
    return down * this.intervalMs;
  }

  /** Stops the sampler process. */
  stop() {
    this.child.kill('SIGKILL');
    for (const w of this.waiters) w.resolve(null);
    this.waiters.clear();
  }
}
