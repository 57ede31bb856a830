/**
 * Medians with ranges, the side-by-side table, and the JSON line (ratios to openconnect).
 * Four columns: `tandem` is `tandem connect --foreground` (the debugging path), `agent` is a
 * user connecting through a warm tandemd (the way users connect), `tray` the same user clicking
 * Connect in the tray's window against the same agent (connect time only: the packets are the
 * agent's), `openconnect` the reference. A client that did not run, or failed every round,
 * shows `n/a (why)` — never a number; a metric a client does not have shows `—`.
 */

/** The measured clients, in table order. */
export const KINDS = ['tandem', 'agent', 'tray', 'openconnect'];

export const METRICS = [
  ['connect', 'connect ms (spawn; tray: click → first echo via tunnel)', 1],
  ['throughputUp', 'throughput up, Gbit/s (iperf3 receiver)', 3],
  ['throughputDown', 'throughput down, Gbit/s (iperf3 -R)', 3],
  ['cpuPerGB', 'client CPU s per GB (10^9 B, up+down)', 2],
  ['peakRssMb', 'client peak RSS, MiB (VmHWM; agent: VmRSS with the tunnel up)', 1],
];
/** Metrics whose tandem/openconnect ratio goes into the JSON line. */
const RATIO_KEYS = ['connect', 'throughputUp', 'throughputDown', 'cpuPerGB'];

/** Median of a list of numbers (NaN when empty). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** `{median, min, max, n}` of a list; null when it is empty. */
export function summary(xs) {
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * Summaries per client and the ratio of medians.
 * @param {Record<string, Record<string, number[]>>} samples per client, per metric
 * @param {Record<string, string>} notRun client → reason it has no numbers
 */
export function aggregate(samples, notRun) {
  const stats = {};
  for (const kind of KINDS) {
    const s = samples[kind];
    if (notRun[kind] || !s || s.connect.length === 0) continue;
    stats[kind] = Object.fromEntries(Object.keys(s).map((key) => [key, summary(s[key])]));
  }
  const over = (kind, key, base = 'openconnect') =>
    stats[kind]?.[key] && stats[base]?.[key] ? stats[kind][key].median / stats[base][key].median : null;
  const ratio = {};
  const agentRatio = {};
  for (const [key] of METRICS) {
    ratio[key] = over('tandem', key);
    agentRatio[key] = over('agent', key);
  }
  // The target for the tray: within 50 ms of `tandem connect` to the same warm agent.
  const tray = {
    vsAgentConnect: over('tray', 'connect', 'agent'),
    minusAgentConnectMs:
      stats.tray?.connect && stats.agent?.connect ? stats.tray.connect.median - stats.agent.connect.median : null,
  };
  return { stats, ratio, agentRatio, tray };
}

/** The human table: median [min–max] per metric and client, and the ratio column. */
export function table(agg, notRun) {
  const fmt = (s, d) => (s ? `${s.median.toFixed(d)} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]` : '—');
  const cell = (kind, key, d) =>
    agg.stats[kind] ? fmt(agg.stats[kind][key], d) : `n/a (${notRun[kind] ?? 'no successful round'})`;
  const n = (kind) => (agg.stats[kind] ? ` n=${agg.stats[kind].connect.n}` : '');
  const r = (x) => (x == null ? 'n/a' : x.toFixed(2));
  const rows = [
    [
      'metric: median [min–max]',
      `tandem --foreground${n('tandem')}`,
      `tandemd + tandem connect${n('agent')}`,
      `tandemd + tray (click)${n('tray')}`,
      `openconnect${n('openconnect')}`,
      'fg/oc',
      'agent/oc',
      'tray/agent',
    ],
  ];
  for (const [key, label, d] of METRICS) {
    rows.push([
      label,
      cell('tandem', key, d),
      cell('agent', key, d),
      cell('tray', key, d),
      cell('openconnect', key, d),
      r(agg.ratio[key]),
      r(agg.agentRatio[key]),
      key === 'connect' ? r(agg.tray.vsAgentConnect) : '',
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The machine-readable last line. Per client: medians (and min/max/n), or null plus a
 * `notRun` reason; ratios are null unless both clients have numbers.
 */
export function jsonLine(rounds, agg, notRun, extra, idle) {
  const client = (kind) =>
    agg.stats[kind]
      ? Object.fromEntries(
          Object.entries(agg.stats[kind])
            .filter(([, s]) => s !== null)
            .map(([k, s]) => [k, s.median])
            .concat([['detail', Object.fromEntries(Object.entries(agg.stats[kind]).filter(([, s]) => s !== null))]]),
        )
      : null;
  return JSON.stringify({
    rounds,
    tandem: client('tandem'),
    agent:
      agg.stats.agent || idle
        ? {
            ...client('agent'),
            ...(idle ? { idleCpuPercent: idle.cpuPercent, rssMiB: idle.rssMiB, idleSeconds: idle.seconds } : {}),
          }
        : null,
    tray: client('tray'),
    openconnect: client('openconnect'),
    ratio: {
      ...Object.fromEntries(RATIO_KEYS.map((k) => [k, agg.ratio[k]])),
      agentConnect: agg.agentRatio.connect,
      agentThroughputUp: agg.agentRatio.throughputUp,
      agentThroughputDown: agg.agentRatio.throughputDown,
      agentCpuPerGB: agg.agentRatio.cpuPerGB,
      trayVsAgentConnect: agg.tray.vsAgentConnect,
      trayMinusAgentConnectMs: agg.tray.minusAgentConnectMs,
      // The agent carries packets with the same code as the CLI: its throughput should match.
      agentVsCliThroughputUp:
        agg.stats.agent && agg.stats.tandem
          ? agg.stats.agent.throughputUp.median / agg.stats.tandem.throughputUp.median
          : null,
      agentVsCliThroughputDown:
        agg.stats.agent && agg.stats.tandem
          ? agg.stats.agent.throughputDown.median / agg.stats.tandem.throughputDown.median
          : null,
    },
    ...(Object.keys(notRun).length ? { notRun } : {}),
    ...extra,
  });
}
