/**
 * Medians with ranges, the side-by-side table, and the ratio line (tandem / openconnect).
 */

/** Median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** `{median, min, max}` of a list. */
export function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

const METRICS = [
  ['connect', 'connect (ms, start → first ping)', 1],
  ['throughputUp', 'throughput up (Gbit/s)', 3],
  ['throughputDown', 'throughput down (Gbit/s)', 3],
  ['cpuPerGB', 'client CPU s per GB', 2],
  ['peakRssMb', 'client peak RSS (MB)', 1],
];

/** Summaries per client and the ratio of medians. */
export function aggregate(samples) {
  const out = {};
  for (const kind of Object.keys(samples)) {
    out[kind] = {};
    for (const [key] of METRICS) out[kind][key] = summary(samples[kind][key]);
  }
  const ratio = {};
  if (out.tandem && out.openconnect) for (const [key] of METRICS) ratio[key] = out.tandem[key].median / out.openconnect[key].median;
  return { stats: out, ratio };
}

/** The human table. */
export function table(agg) {
  const fmt = (s, d) => (Number.isFinite(s.median) ? `${s.median.toFixed(d)} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]` : 'n/a');
  const rows = [['metric (median [min–max])', 'tandem', 'openconnect', 'ratio']];
  for (const [key, label, d] of METRICS) {
    rows.push([label, agg.stats.tandem ? fmt(agg.stats.tandem[key], d) : 'n/a', agg.stats.openconnect ? fmt(agg.stats.openconnect[key], d) : 'n/a', Number.isFinite(agg.ratio[key]) ? agg.ratio[key].toFixed(2) : 'n/a']);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ')).join('\n');
}
