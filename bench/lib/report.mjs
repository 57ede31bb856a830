/**
 * Medians with ranges, the side-by-side tables, and the JSON line (ratios to openconnect).
 * CSTP table, four columns: `tandem` is `tandem connect --foreground --no-dtls` (the debugging
 * path), `agent` is a user connecting through a warm tandemd (the way users connect), `tray` the
 * same user clicking Connect in the tray's window against the same agent (connect time only: the
 * packets are the agent's), `openconnect` (`--no-dtls`) the reference. DTLS table: `tandem-dtls`
 * and `openconnect-dtls`, the same two programs with DTLS. A client that did not run, or failed
 * every round, shows `n/a (why)` — never a number; a metric a client does not have shows `—`.
 */

/** The measured rows, in table order. */
export const KINDS = ['tandem', 'agent', 'tray', 'openconnect', 'tandem-dtls', 'openconnect-dtls'];

export const METRICS = [
  ['connect', 'connect ms (spawn; tray: click → first echo via tunnel)', 1],
  ['throughputUp', 'throughput up, Gbit/s (iperf3 receiver)', 3],
  ['throughputDown', 'throughput down, Gbit/s (iperf3 -R)', 3],
  ['cpuPerGB', 'client CPU s per GB (10^9 B, up+down)', 2],
  ['peakRssMb', 'client peak RSS, MiB (VmHWM; agent: VmRSS with the tunnel up)', 1],
];
/** Metrics whose tandem/openconnect ratio goes into the JSON line. */
const RATIO_KEYS = ['connect', 'throughputUp', 'throughputDown', 'cpuPerGB'];
/** The DTLS rows' extra: spawn → the client says DTLS is up. */
export const DTLS_UP = ['dtlsUp', 'DTLS up, ms since spawn (the client says so)', 1];

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
  const dtlsRatio = {};
  for (const [key] of [...METRICS, DTLS_UP]) {
    ratio[key] = over('tandem', key);
    agentRatio[key] = over('agent', key);
    dtlsRatio[key] = over('tandem-dtls', key, 'openconnect-dtls');
  }
  // The target for the tray: within 50 ms of `tandem connect` to the same warm agent.
  const tray = {
    vsAgentConnect: over('tray', 'connect', 'agent'),
    minusAgentConnectMs:
      stats.tray?.connect && stats.agent?.connect ? stats.tray.connect.median - stats.agent.connect.median : null,
  };
  return { stats, ratio, agentRatio, dtlsRatio, tray };
}

/** Pads a grid of strings into aligned columns. */
function grid(rows) {
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

/** `median [min–max]` of one metric of one row, `—` without it, `n/a (why)` for a row that has no numbers. */
function cellOf(agg, notRun) {
  const fmt = (s, d) => (s ? `${s.median.toFixed(d)} [${s.min.toFixed(d)}–${s.max.toFixed(d)}]` : '—');
  return (kind, key, d) =>
    agg.stats[kind] ? fmt(agg.stats[kind][key], d) : `n/a (${notRun[kind] ?? 'no successful round'})`;
}
const ratioText = (x) => (x == null ? 'n/a' : x.toFixed(2));

/** The CSTP table: median [min–max] per metric and client, and the ratio columns. */
export function table(agg, notRun) {
  const cell = cellOf(agg, notRun);
  const n = (kind) => (agg.stats[kind] ? ` n=${agg.stats[kind].connect.n}` : '');
  const rows = [
    [
      'CSTP (TLS/TCP); metric: median [min–max]',
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
      ratioText(agg.ratio[key]),
      ratioText(agg.agentRatio[key]),
      key === 'connect' ? ratioText(agg.tray.vsAgentConnect) : '',
    ]);
  }
  return grid(rows);
}

/** The DTLS table: the same metrics for the two DTLS rows, and their ratio. */
export function dtlsTable(agg, notRun) {
  const cell = cellOf(agg, notRun);
  const n = (kind) => (agg.stats[kind] ? ` n=${agg.stats[kind].connect.n}` : '');
  const rows = [
    [
      'DTLS (data over UDP); metric: median [min–max]',
      `tandem --foreground${n('tandem-dtls')}`,
      `openconnect${n('openconnect-dtls')}`,
      'tandem/oc',
    ],
  ];
  for (const [key, label, d] of [...METRICS, DTLS_UP]) {
    const text = key === 'connect' ? 'connect ms (spawn → first echo via tunnel)' : label;
    rows.push([text, cell('tandem-dtls', key, d), cell('openconnect-dtls', key, d), ratioText(agg.dtlsRatio[key])]);
  }
  return grid(rows);
}

/**
 * The machine-readable last line. Per client: medians (and min/max/n), or null plus a
 * `notRun` reason; ratios are null unless both clients have numbers.
 */
export function jsonLine(rounds, agg, notRun, extra, idle, lossy, diag) {
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
    tandemDtls: client('tandem-dtls'),
    openconnectDtls: client('openconnect-dtls'),
    ratio: {
      ...Object.fromEntries(RATIO_KEYS.map((k) => [k, agg.ratio[k]])),
      dtlsConnect: agg.dtlsRatio.connect,
      dtlsThroughputUp: agg.dtlsRatio.throughputUp,
      dtlsThroughputDown: agg.dtlsRatio.throughputDown,
      dtlsCpuPerGB: agg.dtlsRatio.cpuPerGB,
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
    lossy,
    diag,
    ...(Object.keys(notRun).length ? { notRun } : {}),
    ...extra,
  });
}

/** One line for the diagnostic bundle's cost: per audience, wall time (CLI start to exit), build time, size. */
export function diagText(diag) {
  const one = (who, d) =>
    `${who} ${(d.wallMs / 1000).toFixed(2)} s wall (${(d.buildMs / 1000).toFixed(2)} s building), ${(d.bytes / 1048576).toFixed(2)} MiB`;
  return `${one('administrator (root)', diag.admin)}; ${one('user (uid 65534)', diag.user)}`;
}
