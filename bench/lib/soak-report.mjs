/**
 * The soak's figures and how they are printed: reconnect times per fault kind (fault start →
 * first echo through the tunnel), downtime, the agent's growth in file descriptors and memory,
 * and what it leaked when stopped.
 */
import { FAULT_KINDS } from './faults.mjs';

/** Nearest-rank percentile of `values` (p in 0..100); null for none. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x) => (x == null ? null : Math.round(x));
const stats = (ms) => ({
  p50Ms: round(percentile(ms, 50)),
  p95Ms: round(percentile(ms, 95)),
  maxMs: round(percentile(ms, 100)),
});

/**
 * The growth figure: the largest growth (first connect → end) among the instances that lived
 * at least a third of the run, or the last instance's when none did.
 * @param {import('./supervisor.mjs').Instance[]} instances
 * @param {bigint} runStart @param {bigint} runEnd monotonic ns
 * @returns {{fds: number|null, rssMiB: number|null, of: string}}
 */
export function growthOf(instances, runStart, runEnd) {
  const third = (runEnd - runStart) / 3n;
  const sampled = instances.filter((i) => i.first && i.last);
  const long = sampled.filter(
    (i) => (i.exitedAt ?? runEnd) - (i.startedAt > runStart ? i.startedAt : runStart) >= third,
  );
  const pick = long.length ? long : sampled.slice(-1);
  if (!pick.length) return { fds: null, rssMiB: null, of: 'no agent instance was sampled twice' };
  const fds = Math.max(...pick.map((i) => i.last.fds - i.first.fds));
  const rss = Math.max(...pick.map((i) => i.last.rssMiB - i.first.rssMiB));
  const names = pick.map((i) => `#${i.n}`).join(', ');
  const of = long.length
    ? `agent instance(s) ${names}, which lived ≥ 1/3 of the run (the largest growth)`
    : `the last agent instance (${names}); none lived ≥ 1/3 of the run`;
  return { fds, rssMiB: Math.round(rss * 10) / 10, of };
}

/**
 * The JSON summary (the `--json` line's object).
 * @param {{kind: string, ms: number|null, detail: string}[]} faults ms null = not recovered within the cap
 */
export function summarize(faults, extra) {
  const ok = faults.filter((f) => f.ms !== null);
  const byKind = {};
  for (const kind of FAULT_KINDS) {
    const of = faults.filter((f) => f.kind === kind);
    const ms = of.filter((f) => f.ms !== null).map((f) => f.ms);
    byKind[kind] = { count: of.length, failures: of.length - ms.length, ...stats(ms) };
  }
  return {
    faults: faults.length,
    reconnect: stats(ok.map((f) => f.ms)),
    downtimeMs: extra.downtimeMs,
    growth: { fds: extra.growth.fds, rssMiB: extra.growth.rssMiB },
    leaks: extra.leaks,
    failures: faults.length - ok.length,
    byKind,
    growthOf: extra.growth.of,
    runMs: extra.runMs,
    seed: extra.seed,
    intervalSeconds: extra.intervalSeconds,
    resolver: extra.resolver,
    dpdSeconds: extra.dpdSeconds,
    agentInstances: extra.agentInstances,
    agentCrashes: extra.agentCrashes,
    journalRecoveries: extra.journalRecoveries,
    instances: extra.instances,
  };
}

const cell = (v, w) => String(v ?? '–').padStart(w);

/** The human table. */
export function table(s) {
  const rows = [['fault', 'count', 'failed', 'p50 ms', 'p95 ms', 'max ms']];
  for (const [kind, k] of Object.entries(s.byKind)) rows.push([kind, k.count, k.failures, k.p50Ms, k.p95Ms, k.maxMs]);
  rows.push(['all', s.faults, s.failures, s.reconnect.p50Ms, s.reconnect.p95Ms, s.reconnect.maxMs]);
  const text = rows.map(([name, ...cols]) => `${String(name).padEnd(14)}${cols.map((c) => cell(c, 9)).join('')}`);
  const pct = s.runMs > 0 ? ((s.downtimeMs / s.runMs) * 100).toFixed(1) : '–';
  const sign = (x, unit = '') => (x == null ? '–' : `${x >= 0 ? '+' : ''}${x}${unit}`);
  return [
    'Reconnect time = fault start → first echo through the tunnel (after the fault was lifted).',
    ...text,
    `downtime: ${(s.downtimeMs / 1000).toFixed(1)} s of ${(s.runMs / 1000).toFixed(0)} s (${pct} %), probes every 200 ms from the first connect on`,
    `agent: ${s.agentInstances} instance(s), ${s.agentCrashes} exited by themselves; journal recovered after ${s.journalRecoveries}`,
    ...s.instances.map(
      (i) =>
        `  agent #${i.n} (pid ${i.pid}): ${i.livedS} s in the run, exit ${i.exit ?? 'running'}; ` +
        (i.fds
          ? `fds ${i.fds[0]} → ${i.fds[1]}${i.fdChange ? ` (${i.fdChange})` : ''}, RSS ${i.rssMiB[0]} → ${i.rssMiB[1]} MiB` +
            (i.dnsInFlight.some((x) => x > 0)
              ? `; DNS lookups in flight, not counted: ${i.dnsInFlight[0]} → ${i.dnsInFlight[1]}`
              : '')
          : 'not sampled twice (killed before its tunnel settled)'),
    ),
    `growth, first connect → end: fds ${sign(s.growth.fds)}, RSS ${sign(s.growth.rssMiB, ' MiB')} (${s.growthOf})`,
    `leaks after SIGTERM: routes ${s.leaks.routes}, dns ${s.leaks.dns}, nft ${s.leaks.nft}, fds ${s.leaks.fds}`,
  ].join('\n');
}
