import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_MACHINE_RESTART_POLICY as M,
  DEFAULT_RECONNECT_POLICY as P,
  type BackoffPolicy,
} from '../src/index.js';

/** Seeded PRNG (mulberry32): the distribution tests replay exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * `clients` clients lose the same gateway at t = 0 and retry every attempt in vain (each fails at
 * once): the most attempts in any one second between `from` and `to` s, over the mean there.
 */
function fleetBurstiness(policy: BackoffPolicy, clients: number, from: number, to: number): number {
  const random = seeded(17);
  const perSecond = new Array<number>(to).fill(0);
  for (let c = 0; c < clients; c++) {
    let t = 0;
    for (let attempt = 0; ; attempt++) {
      t += backoffDelay(attempt, policy, random);
      if (t >= to * 1000) break;
      perSecond[Math.floor(t / 1000)]! += 1;
    }
  }
  const window = perSecond.slice(from, to);
  return Math.max(...window) / mean(window);
}

describe('backoffDelay', () => {
  it('steps of 1 s, ×2, capped at 30 s; random() = 0 waits the whole step', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, P, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect([0, 1, 5, 9].map((n) => backoffDelay(n, M, () => 0))).toEqual([2000, 4000, 60000, 60000]);
  });

  it('full jitter shortens by random() × the step, so the cap holds for any random()', () => {
    expect(backoffDelay(0, P, () => 0.5)).toBe(500);
    expect(backoffDelay(10, P, () => 0.25)).toBe(22500);
    expect(backoffDelay(3, P, () => 1)).toBe(0);
    expect(backoffDelay(10, P, () => -3)).toBe(30000); // out-of-range randoms are clamped
    expect(backoffDelay(10, P, () => 7)).toBe(0);
    const random = seeded(1);
    for (let i = 0; i < 10_000; i++) {
      const attempt = i % 12;
      const d = backoffDelay(attempt, P, random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(30_000, 1000 * 2 ** attempt));
    }
  });

  it('a partial jitter only shortens, by at most its fraction', () => {
    const tenth: BackoffPolicy = { ...P, jitter: 0.1 };
    expect(backoffDelay(0, tenth, () => 1)).toBe(900);
    expect(backoffDelay(0, { ...P, jitter: 0 }, () => 1)).toBe(1000);
  });

  it('with a seeded random, every wait is uniform over its step: mean half the step, flat deciles', () => {
    const random = seeded(42);
    for (const attempt of [0, 3, 8]) {
      const step = Math.min(30_000, 1000 * 2 ** attempt);
      const samples = Array.from({ length: 20_000 }, () => backoffDelay(attempt, P, random));
      expect(mean(samples) / step).toBeCloseTo(0.5, 1.5); // within ±0.016
      const deciles = new Array<number>(10).fill(0);
      for (const d of samples) deciles[Math.min(9, Math.floor((d / step) * 10))]! += 1;
      for (const n of deciles) expect(n / samples.length).toBeGreaterThan(0.085);
      for (const n of deciles) expect(n / samples.length).toBeLessThan(0.115);
    }
  });

  it('a lone client tries again quickly: the first wait is 0.5 s on average, under 1 s always', () => {
    const random = seeded(7);
    const first = Array.from({ length: 10_000 }, () => backoffDelay(0, P, random));
    expect(mean(first)).toBeGreaterThan(450);
    expect(mean(first)).toBeLessThan(550);
    expect(Math.max(...first)).toBeLessThanOrEqual(1000);
  });

  it('a fleet that lost one gateway does not retry in waves: no second gets 2× the mean from 20 s to 60 s', () => {
    expect(fleetBurstiness(P, 10_000, 20, 60)).toBeLessThan(2);
    // The former default (20 % jitter) keeps the waves: the same fleet peaks at over 3× the mean.
    expect(fleetBurstiness({ ...P, jitter: 0.2 }, 10_000, 20, 60)).toBeGreaterThan(3);
  });

  it('the default budget is 300 s', () => {
    expect(P.budgetMs).toBe(300_000);
  });
});
