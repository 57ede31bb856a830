#!/usr/bin/env node
/**
 * `npm run bench`: tandem and openconnect on the same lab (ocserv, CSTP over TLS, vpnc-script,
 * real TUN) in one run, interleaved A B A B: connect time, iperf3 TCP both ways, CPU s per GB,
 * peak RSS. `-- --json` adds a last JSON line with the ratios. Needs root (namespaces).
 *
 * Options: --rounds N (default 5), --seconds S (iperf duration, default 10), --quick (1 round,
 * 3 s), --only tandem|openconnect, --json.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLab, teardown, hostState } from './lib/lab.mjs';
import { startClient, stopClient, vpncScript } from './lib/clients.mjs';
import { initClock, peakRssMb, transfer } from './lib/measure.mjs';
import { aggregate, table } from './lib/report.mjs';
import { sh } from './lib/sh.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' }, quick: { type: 'boolean' }, only: { type: 'string' }, json: { type: 'boolean' } } });
const rounds = values.quick ? 1 : Number(values.rounds ?? 5);
const seconds = values.quick ? 3 : Number(values.seconds ?? 10);
const kinds = values.only ? [values.only] : ['tandem', 'openconnect'];

if (process.getuid?.() !== 0) {
  console.log('npm run bench needs root: it creates network namespaces, a TUN per client and runs ocserv. Nothing was measured.');
  process.exit(0);
}
for (const bin of ['ocserv', 'openconnect', 'iperf3', 'ping', 'openssl']) {
  try {
    await sh('sh', ['-c', 'command -v "$0"', bin]);
  } catch {
    console.log(`npm run bench needs ${bin} (apt-get install ocserv openconnect iperf3 iputils-ping vpnc-scripts). Nothing was measured.`);
    process.exit(0);
  }
}

const hostBefore = await hostState();
let lab;
const cleanup = async () => {
  lab?.ocserv.kill('SIGTERM');
  lab?.iperf.kill('SIGTERM');
  lab?.echo.kill('SIGTERM');
  await teardown();
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void cleanup().then(() => process.exit(130)));

const samples = Object.fromEntries(kinds.map((k) => [k, { connect: [], throughputUp: [], throughputDown: [], cpuPerGB: [], peakRssMb: [] }]));
const started = Date.now();
try {
  await initClock();
  lab = await createLab();
  const script = await vpncScript();
  const journalDir = mkdtempSync(join(tmpdir(), 'tandem-bench-journal-'));
  console.error(`bench: ${rounds} round(s), iperf3 ${seconds} s each way, clients ${kinds.join(' and ')}, CSTP only (no DTLS: tandem has none yet; openconnect runs with --no-dtls)`);
  for (let r = 1; r <= rounds; r++) {
    for (const kind of kinds) {
      const client = await startClient(kind, lab.files, script, journalDir);
      const up = await transfer(client.pid, seconds, false);
      const down = await transfer(client.pid, seconds, true);
      const s = samples[kind];
      s.connect.push(client.connectMs);
      s.throughputUp.push(up.gbps);
      s.throughputDown.push(down.gbps);
      s.cpuPerGB.push((up.cpu + down.cpu) / ((up.bytes + down.bytes) / 1e9));
      if (process.env.BENCH_DEBUG) console.error(JSON.stringify({ kind, up, down }));
      s.peakRssMb.push(peakRssMb(client.pid));
      await stopClient(client);
      console.error(`round ${r} ${kind}: connect ${client.connectMs.toFixed(0)} ms, up ${up.gbps.toFixed(3)} Gbit/s, down ${down.gbps.toFixed(3)} Gbit/s, ${s.cpuPerGB.at(-1).toFixed(2)} CPU s/GB, peak RSS ${s.peakRssMb.at(-1).toFixed(1)} MB`);
    }
  }
} finally {
  await cleanup();
}
const hostAfter = await hostState();
if (hostAfter !== hostBefore) {
  console.error('bench: the host routes or /etc/resolv.conf changed during the run!');
  process.exitCode = 1;
}
const agg = aggregate(samples);
console.log(table(agg));
console.log(`(${rounds} rounds per client, ${((Date.now() - started) / 1000).toFixed(0)} s in total)`);
if (values.json) {
  const pick = (k) => (agg.stats[k] ? Object.fromEntries(Object.entries(agg.stats[k]).map(([m, s]) => [m, s.median])) : null);
  console.log(JSON.stringify({ rounds, tandem: pick('tandem'), openconnect: pick('openconnect'), ratio: { connect: agg.ratio.connect, throughputUp: agg.ratio.throughputUp, throughputDown: agg.ratio.throughputDown, cpuPerGB: agg.ratio.cpuPerGB } }));
}
