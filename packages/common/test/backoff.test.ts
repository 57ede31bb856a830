import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RECONNECT_POLICY as P } from '../src/index.js';

describe('backoffDelay', () => {
  it('1 s, ×2, capped at 30 s without jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, P, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('jitter only shortens, by at most 20 %', () => {
    expect(backoffDelay(0, P, () => 1)).toBe(800);
    expect(backoffDelay(10, P, () => 0.5)).toBe(27000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(i % 8, P, Math.random);
      expect(d).toBeLessThanOrEqual(30000);
      expect(d).toBeGreaterThanOrEqual(800);
    }
  });

  it('the default budget is 300 s', () => {
    expect(P.budgetMs).toBe(300_000);
  });
});
