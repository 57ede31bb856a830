/**
 * Medians with ranges, the side-by-side table, and the JSON line (ratios tandem / openconnect).
 * A client that did not run, or failed every round, shows `n/a (why)` — never a number.
 */

export const METRICS = [
  ['connect', 'connect ms (spawn → first echo via tunnel)', 1],
  ['throughputUp', 'throughput up, Gbit/s (iperf3 receiver)', 3],
  ['throughputDown', 'throughput down, Gbit/s (iperf3 -R)', 3],
  ['cpuPerGB', 'client CPU s per GB (10^9 B, up+down)', 2],
  ['peakRssMb', 'client peak RSS, MiB (VmHWM)', 1],
];
/** Metrics whose tandem/openconnect ratio goes into the JSON line. */
const RATIO_KEYS = ['connect', 'throughputUp', 'throughputDown', 'cpuPerGB'];

/** Median of a list of numbers (NaN when empty). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** `{median, min, max, n}` of a list. */
export function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * Summaries per client and the ratio of medians.
 * @param {Record<string, Record<string, number[]>>} samples per client, per metric
 * @param {Record<string, string>} notRun client → reason it has no numbers
 */
export function aggregate(samples, notRun) {
  const stats = {};
  for (const kind of ['tandem', 'openconnect']) {
    const s = samples[kind];
    if (notRun[kind] || !s || s.connect.length === 0) continue;
    stats[kind] = Object.fromEntries(METRICS.map(([key]) => [key, summary(s[key])]));
  }
  const ratio = {};
  for (const [key] of METRICS) {
    ratio[key] = stats.tandem && stats.openconnect ? stats.tandem[key].median / stats.openconnect[key].median : null;
  }
  return { stats, ratio };
}

/** The human table: median [min–max] per metric and client, and the ratio column. */
export function table(agg, notRun) {
  const fmt = (s, d) => `${s.median.toFixed(d)} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]`;
  const cell = (kind, key, d) => (agg.stats[kind] ? fmt(agg.stats[kind][key], d) : `n/a (${notRun[kind] ?? 'no successful round'})`);
  const n = (kind) => (agg.stats[kind] ? ` n=${agg.stats[kind].connect.n}` : '');
  const rows = [['metric: median [min–max]', `tandem${n('tandem')}`, `openconnect${n('openconnect')}`, 'tandem/openconnect']];
  for (const [key, label, d] of METRICS) {
    rows.push([label, cell('tandem', key, d), cell('openconnect', key, d), agg.ratio[key] == null ? 'n/a' : agg.ratio[key].toFixed(2)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

/**
 * The machine-readable last line. Per client: medians (and min/max/n), or null plus a
 * `notRun` reason; ratios are null unless both clients have numbers.
 */
export function jsonLine(rounds, agg, notRun, extra) {
  const client = (kind) => (agg.stats[kind]
    ? Object.fromEntries(Object.entries(agg.stats[kind]).map(([k, s]) => [k, s.median]).concat([['detail', agg.stats[kind]]]))
    : null);
  return JSON.stringify({
    rounds,
    tandem: client('tandem'),
    openconnect: client('openconnect'),
    ratio: Object.fromEntries(RATIO_KEYS.map((k) => [k, agg.ratio[k]])),
    ...(Object.keys(notRun).length ? { notRun } : {}),
    ...extra,
  });
}
