/**
 * The fleet simulation's output: a table for people (attempts in 5 s buckets, the targets) and
 * one JSON object for scripts.
 */
import type { FleetResult } from './fleet.js';

/** The targets of issue 17. */
export const TARGETS = { maxRatio: 3, maxAllBackSeconds: 120 } as const;

/** True when a result meets both targets with no agent given up. */
export function meetsTargets(r: FleetResult): boolean {
  return (
    r.ratio <= TARGETS.maxRatio &&
    r.allBackAfter !== null &&
    r.allBackAfter <= TARGETS.maxAllBackSeconds &&
    r.gaveUp === 0
  );
}

const pad = (v: string | number, n: number): string => String(v).padStart(n);
const secs = (v: number | null): string => (v === null ? 'never' : `${v.toFixed(1)} s`);

/** The human-readable report. */
export function formatReport(r: FleetResult): string {
  const o = r.options;
  const lines = [
    `fleet: ${o.agents} agents (${Math.round(o.machineShare * 100)} % machine tunnels), scenario ${o.scenario}, ` +
      `gateway down ${o.downSeconds} s, capacity ${o.capacityPerSecond} handshakes/s, seed ${o.seed}`,
    '',
    '   t (s)  attempts  refused  overloaded  peak/s  connected',
  ];
  for (let b = 0; b * 5 < r.perSecond.length; b++) {
    const slice = r.perSecond.slice(b * 5, b * 5 + 5);
    const sum = (k: 'arrived' | 'refused' | 'overloaded') => slice.reduce((n, s) => n + s[k], 0);
    const mark = b * 5 <= r.returnSecond && r.returnSecond < b * 5 + 5 ? '  ← gateway back' : '';
    lines.push(
      `${pad(`${b * 5}-${b * 5 + 5}`, 8)}${pad(sum('arrived'), 10)}${pad(sum('refused'), 9)}${pad(sum('overloaded'), 12)}` +
        `${pad(Math.max(...slice.map((s) => s.arrived)), 8)}${pad(r.connectedAt[b] ?? '', 11)}${mark}`,
    );
  }
  const ok = (good: boolean) => (good ? 'ok' : 'MISSED');
  lines.push(
    '',
    `peak after return      ${r.peak}/s (at +${r.peakAt} s); while down ${r.peakWhileDown}/s (refused)`,
    `mean first 60 s back   ${r.meanFirst60.toFixed(1)}/s`,
    `peak / mean            ${r.ratio.toFixed(2)}  (target ≤ ${TARGETS.maxRatio}: ${ok(r.ratio <= TARGETS.maxRatio)})`,
    `all back after         ${secs(r.allBackAfter)} from the return (target ≤ ${TARGETS.maxAllBackSeconds} s: ` +
      `${ok(r.allBackAfter !== null && r.allBackAfter <= TARGETS.maxAllBackSeconds)}); ` +
      `p50 ${secs(r.backP50)}, p99 ${secs(r.backP99)}`,
    `back / gave up         ${r.back} / ${r.gaveUp}  (target 0 gave up: ${ok(r.gaveUp === 0)})`,
  );
  if (r.violations > 0) lines.push(`handover invariant violations: ${r.violations}`);
  return lines.join('\n');
}

/** The one-line JSON summary (without the per-second series). */
export function jsonSummary(r: FleetResult): string {
  return JSON.stringify({
    ...r.options,
    peak: r.peak,
    peakAt: r.peakAt,
    peakWhileDown: r.peakWhileDown,
    meanFirst60: Math.round(r.meanFirst60 * 10) / 10,
    ratio: Math.round(r.ratio * 100) / 100,
    allBackAfter: r.allBackAfter,
    backP50: r.backP50,
    backP99: r.backP99,
    back: r.back,
    gaveUp: r.gaveUp,
    violations: r.violations,
    meetsTargets: meetsTargets(r),
    attemptsPerSecond: r.perSecond.map((s) => s.arrived),
  });
}
