#!/usr/bin/env node
/**
 * `npm run bench`: openconnect and `tandem connect --foreground`, each over CSTP (`--no-dtls`)
 * and over DTLS, a user connecting through a warm tandemd (`agent`, CSTP) and the same user
 * clicking Connect in the tray's window against that agent (`tray`: connect time only), with the
 * same vpnc-script and a real TUN, interleaved in one run: connect time, iperf3 TCP both ways,
 * CPU s per GB, RSS; then the agent's idle cost with a tunnel up; then the lossy phase (1 % loss,
 * 30 ms RTT: each program's download goodput over DTLS and over CSTP). Needs root (network
 * namespaces); without it, says so and exits 0 having measured nothing.
 *
 *   npm run bench [-- --rounds N] [--seconds S] [--idle-seconds S] [--quick] [--only tandem,agent,…] [--no-lossy] [--json]
 */
import '../scripts/require-node.mjs';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertPrivateResolv, CLI_NS, createLab, CSTP_ONLY_ADDR, destroyLab, hostState, SRV_ADDR } from './lib/lab.mjs';
import { clientNsState, startClient, stopClient, tandemUnavailable, transportOf, vpncScript } from './lib/clients.mjs';
import { initClock, peakRssMb, transfer } from './lib/measure.mjs';
import { aggregate, diagText, dtlsTable, jsonLine, KINDS, METRICS, table } from './lib/report.mjs';
import {
  closeLossyPath,
  LOSSY_KINDS,
  LOSSY_LINK,
  lossyRound,
  lossySummary,
  lossyTable,
  openLossyPath,
} from './lib/lossy.mjs';
import { installWireCounters, onTransport } from './lib/wire.mjs';
import {
  connectViaAgent,
  diagBundleCost,
  disconnectViaAgent,
  idleCost,
  rssMb,
  startAgent,
  stopAgent,
} from './lib/agent.mjs';
import { nsExec, sh, sleep } from './lib/sh.mjs';
import { connectViaTray, disconnectViaTray, startTray, stopTray, trayUnavailable } from './lib/tray.mjs';

const HELP = `Usage: npm run bench [-- options]   (or: sudo node_modules/.bin/node bench/run.mjs [options])
  --rounds N        rounds per client, interleaved A B A B (default 5)
  --seconds S       iperf3 duration per direction (default 10)
  --quick           smoke run: 1 round, 3 s, agent idle 10 s, lossy phase 1 round of 3 s
  --idle-seconds S  agent idle-cost window with the tunnel up (default 60)
  --only ROWS       tandem, agent, tray, openconnect, tandem-dtls, openconnect-dtls, or several
                    separated by commas (the lossy phase measures the selected ones it knows)
  --no-lossy        skip the lossy phase
  --lossy-rounds N  rounds of the lossy phase (default 3; --quick: 1)
  --lossy-seconds S iperf3 download per row in the lossy phase (default 10; --quick: 3)
  --lossy-cc NAME   TCP congestion control on the lossy link, outer CSTP and inner iperf3 (default cubic)
  --json            last line: {"rounds":N,"tandem":{…},…,"tandemDtls":{…},"openconnectDtls":{…},"ratio":{…},"lossy":{…},"diag":{"admin":{wallMs,buildMs,bytes},"user":{…}}}`;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'idle-seconds': { type: 'string' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
    'no-lossy': { type: 'boolean' },
    'lossy-rounds': { type: 'string' },
    'lossy-seconds': { type: 'string' },
    'lossy-cc': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const rounds = values.quick ? 1 : Number(values.rounds ?? 5);
const seconds = values.quick ? 3 : Number(values.seconds ?? 10);
const idleSeconds = values.quick ? 10 : Number(values['idle-seconds'] ?? 60);
const lossyRounds = values.quick ? 1 : Number(values['lossy-rounds'] ?? 3);
const lossySeconds = values.quick ? 3 : Number(values['lossy-seconds'] ?? 10);
const lossyCc = values['lossy-cc'] ?? 'cubic';
const only = values.only?.split(',');
if (
  !(rounds >= 1) ||
  !(seconds >= 1) ||
  !(idleSeconds >= 1) ||
  !(lossyRounds >= 1) ||
  !(lossySeconds >= 1) ||
  !/^[a-z0-9_]+$/.test(lossyCc) ||
  (only && !only.every((k) => KINDS.includes(k)))
) {
  console.error(HELP);
  process.exit(64);
}
const kinds = only ?? ['openconnect', 'tandem', 'agent', 'tray', 'openconnect-dtls', 'tandem-dtls'];
const say = (m) => console.error(`bench: ${m}`);
const TRANSPORTS =
  `Transports: ocserv ${SRV_ADDR} offers DTLS (udp-port 443); the CSTP rows (tandem --foreground, openconnect) run with --no-dtls, ` +
  `the DTLS rows without; tandemd and the tray (no DTLS switch) use a second ocserv, ${CSTP_ONLY_ADDR}, without udp-port: CSTP. ` +
  'Every transfer is checked on the wire (nft counters on port 443 in tbn-cli): DTLS rows >= 95 % UDP, CSTP rows <= 1 %.';

if (process.getuid?.() !== 0) {
  console.log(
    'npm run bench needs root: it creates the network namespaces tbn-cli/tbn-srv, a TUN device per client, and runs ocserv. Run it as root (sudo npm run bench). Nothing was measured.',
  );
  process.exit(0);
}
for (const bin of ['ocserv', 'openconnect', 'iperf3', 'ping', 'openssl', 'ss', 'dpkg', 'nft']) {
  try {
    await sh('sh', ['-c', 'command -v "$0"', bin]);
  } catch {
    console.log(
      `npm run bench needs ${bin} (apt-get install ocserv openconnect iperf3 iputils-ping vpnc-scripts openssl iproute2 nftables). Nothing was measured.`,
    );
    process.exit(0);
  }
}

/** Client → reason it has no numbers (not built, or every round failed). */
const notRun = {};
for (const k of KINDS) if (!kinds.includes(k)) notRun[k] = `not selected: --only ${values.only}`;
for (const k of ['tandem', 'agent', 'tray', 'tandem-dtls']) {
  if (!kinds.includes(k)) continue;
  const why = await tandemUnavailable();
  if (why) notRun[k] = why;
}
if (kinds.includes('tray') && !notRun.tray) {
  const why = trayUnavailable();
  if (why) notRun.tray = why;
}
const active = kinds.filter((k) => !notRun[k]);
const samples = Object.fromEntries(kinds.map((k) => [k, Object.fromEntries(METRICS.map(([m]) => [m, []]))]));
// The tray's extra: from the click until the page says "Connected to …".
if (samples.tray) samples.tray.shown = [];
// The DTLS rows' extra: from spawn until the client says DTLS is up.
for (const k of ['tandem-dtls', 'openconnect-dtls']) if (samples[k]) samples[k].dtlsUp = [];
/** The DTLS cipher each DTLS row's client named (its last round). */
const ciphers = {};
/** Lossy phase: download Mbit/s per row. */
const lossyMbps = {};
let lossyInfo = null;
const failures = [];
const warnings = [];
const hostBefore = await hostState();
let lab = null;
let running = null;
let journalDir = null;
let agent = null;
let tray = null;
let idle = null;
let diag = null;
let lossyPath = null;
let congestion = null;

async function cleanup() {
  if (running) await stopClient(running).catch(() => {});
  running = null;
  if (lossyPath) await closeLossyPath(lossyPath).catch(() => {});
  lossyPath = null;
  if (tray) await stopTray(tray).catch(() => {});
  tray = null;
  if (agent) await stopAgent(agent).catch(() => {});
  agent = null;
  await destroyLab(lab);
  lab = null;
  if (journalDir) rmSync(journalDir, { recursive: true, force: true });
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${sig}: cleaning up`);
    void cleanup()
      .then(checkHost)
      .finally(() => process.exit(130));
  });
}

/** Fails loudly if the host's routes or resolv.conf differ from before the run. */
async function checkHost() {
  if ((await hostState()) !== hostBefore) {
    console.error(
      'bench: ERROR: the host routes or /etc/resolv.conf changed during the run (another tenant, or a lab leak): compare `ip route show table all` and /etc/resolv.conf',
    );
    process.exitCode = 1;
    return false;
  }
  return true;
}

/**
 * One round of a client that carries its own packets (or the agent's): connect (a DTLS row: until
 * the client says DTLS is up), iperf3 both ways with the wire checked for the row's transport, stop.
 */
async function clientRound(kind, r, script, nsBaseline) {
  let c;
  let rss;
  let code = 0;
  let up;
  let down;
  let udp;
  const transport = kind === 'agent' ? 'cstp' : transportOf(kind);
  const both = async (pid) => {
    const u = await onTransport(transport, () => transfer(pid, seconds, false));
    const d = await onTransport(transport, () => transfer(pid, seconds, true));
    return [u.result, d.result, Math.min(u.udpShare, d.udpShare), Math.max(u.udpShare, d.udpShare)];
  };
  if (kind === 'agent') {
    c = { pid: agent.pid, connectMs: await connectViaAgent(agent) };
    try {
      [up, down, ...udp] = await both(c.pid);
      rss = rssMb(agent.pid);
    } finally {
      // The warm agent outlives a failed round: its tunnel must not, or every later round fails too.
      await disconnectViaAgent(agent, nsBaseline);
    }
  } else {
    running = await startClient(kind, lab.pki, script, journalDir);
    c = running;
    [up, down, ...udp] = await both(c.pid);
    rss = peakRssMb(c.pid);
    running = null;
    code = await stopClient(c);
  }
  const s = samples[kind];
  s.connect.push(c.connectMs);
  s.throughputUp.push(up.gbps);
  s.throughputDown.push(down.gbps);
  s.cpuPerGB.push((up.cpu + down.cpu) / ((up.bytes + down.bytes) / 1e9));
  s.peakRssMb.push(rss);
  if (s.dtlsUp) s.dtlsUp.push(c.dtlsMs);
  if (c.dtlsCipher) ciphers[kind] = c.dtlsCipher;
  const share = transport === 'dtls' ? `${(udp[0] * 100).toFixed(1)} %` : `${(udp[1] * 100).toFixed(1)} %`;
  say(
    `round ${r} ${kind}: connect ${c.connectMs.toFixed(1)} ms${c.dtlsMs ? `, DTLS up ${c.dtlsMs.toFixed(1)} ms (${c.dtlsCipher})` : ''}, up ${up.gbps.toFixed(3)} Gbit/s (${up.retransmits} retr), down ${down.gbps.toFixed(3)} Gbit/s, CPU ${up.cpu.toFixed(2)}+${down.cpu.toFixed(2)} s → ${s.cpuPerGB.at(-1).toFixed(2)} s/GB, peak RSS ${rss.toFixed(1)} MiB, UDP share of the gateway bytes ${share}, exit ${code}`,
  );
  if (code !== 0) warnings.push(`${kind} round ${r}: exit ${code} after SIGINT`);
}

/**
 * The lossy phase (lib/lossy.mjs): the delay line up, every selected tandem/openconnect row in
 * turn for `lossyRounds` rounds, one download each; then the delay line down and tbn-cli checked
 * against the baseline from before the phase.
 */
async function lossyPhase(script, nsBaseline) {
  const rows = LOSSY_KINDS.filter((k) => active.includes(k));
  if (!rows.length) {
    notRun.lossy = `no row for it selected (${LOSSY_KINDS.join(', ')})`;
    return;
  }
  try {
    lossyPath = await openLossyPath(lab.dir, lossyCc);
  } catch (err) {
    notRun.lossy = `the lossy link did not come up: ${err.message.split('\n')[0]}`;
    failures.push({ kind: 'lossy', round: 'setup', error: err.message });
    say(`lossy phase: FAILED: ${err.message}`);
    return;
  }
  lossyInfo = {
    rttMs: lossyPath.rttMs,
    pingLoss: lossyPath.pingLoss,
    ...LOSSY_LINK,
    direction: 'down',
    congestionControl: lossyCc,
    seconds: lossySeconds,
    rounds: lossyRounds,
  };
  say(
    `lossy phase: delay line up (${LOSSY_LINK.delayMsEachWay} ms, ${LOSSY_LINK.lossPercentEachWay} % loss each way), TCP congestion control ${lossyCc}, ping RTT ${lossyPath.rttMs.toFixed(1)} ms (${lossyPath.pingLoss}); rows ${rows.join(', ')}, gateway ${lossyPath.gateway}`,
  );
  const baseline = await clientNsState();
  const track = (c) => (running = c);
  for (let r = 1; r <= lossyRounds && !interrupted; r++) {
    for (const kind of rows) {
      if (interrupted) break;
      await assertPrivateResolv();
      try {
        const x = await lossyRound(kind, lossyPath, lab.pki, script, journalDir, lossySeconds, track);
        (lossyMbps[kind] ??= []).push(x.mbps);
        say(
          `lossy round ${r} ${kind}: connect ${x.connectMs.toFixed(1)} ms, down ${x.mbps.toFixed(1)} Mbit/s (${x.retransmits} retr at the sender), UDP share ${(x.udpShare * 100).toFixed(1)} %, exit ${x.code}`,
        );
      } catch (err) {
        failures.push({ kind: `lossy ${kind}`, round: r, error: err.message });
        say(`lossy round ${r} ${kind}: FAILED: ${err.message}`);
      }
      if ((await clientNsState()) !== baseline) warnings.push(`lossy ${kind} round ${r}: tbn-cli not restored`);
      await sleep(300);
    }
  }
  lossyInfo.wire = await closeLossyPath(lossyPath);
  lossyPath = null;
  const after = await clientNsState();
  if (after !== nsBaseline) {
    warnings.push('tbn-cli not back to its baseline after the lossy phase');
    say(`WARNING: the lossy phase left state in tbn-cli:\n${after}`);
  }
}

/** The delay line's counters, for the footnote. */
function wireText(w) {
  if (!w) return 'no counters';
  const d = (x) =>
    `${x.packets} packets, ${x.lost} dropped at random (${((x.lost / Math.max(1, x.packets)) * 100).toFixed(2)} %), ${x.overflow} for a full queue`;
  return `to the gateway ${d(w.up)}; from it ${d(w.down)}`;
}

/** One round of the tray: click Connect, first echo, click Disconnect (no iperf3: the packets are the agent's). */
async function trayRound(r, nsBaseline) {
  const t = await connectViaTray(tray);
  await disconnectViaTray(tray, nsBaseline);
  samples.tray.connect.push(t.connectMs);
  samples.tray.shown.push(t.shownMs);
  say(
    `round ${r} tray: click → first echo ${t.connectMs.toFixed(1)} ms, → the page shows "Connected" ${t.shownMs.toFixed(1)} ms`,
  );
}

const started = Date.now();
try {
  await initClock();
  const script = await vpncScript();
  lab = await createLab();
  // The journal's default home, /run/tandem/netjournal, is on tmpfs on systemd hosts, where its
  // fsyncs cost nothing; /dev/shm is the tmpfs this lab has (here /run and /tmp are on disk).
  journalDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tandem-bench-journal-'));
  await installWireCounters(lab.dir);
  congestion = (await nsExec(CLI_NS, 'sysctl', ['-n', 'net.ipv4.tcp_congestion_control'])).trim();
  const nsBaseline = await clientNsState();
  say(`${rounds} round(s), iperf3 TCP ${seconds} s each way, rows: ${kinds.join(', ')}; vpnc-script ${script}`);
  say(TRANSPORTS);
  if (notRun.tandem) say(`tandem column: n/a (${notRun.tandem})`);
  if (notRun.tray) say(`tray column: n/a (${notRun.tray})`);
  if (active.includes('agent') || active.includes('tray')) {
    // Warm, as at boot: its start-up is not part of anyone's connect time.
    agent = await startAgent(lab.pki);
    say(`tandemd started (pid ${agent.pid}); the agent column is uid 65534 running "tandem connect" against it`);
  }
  if (active.includes('tray')) {
    // Warm too: a user's tray runs from login on, long before the click.
    try {
      tray = await startTray(agent);
      say(`tray started: its core as uid 65534 (pid ${tray.core.child.pid}), the window in Chromium`);
    } catch (err) {
      notRun.tray = `failed to start: ${err.message.split('\n')[0]}`;
      active.splice(active.indexOf('tray'), 1);
      say(`tray column: n/a (${notRun.tray})\n${err.message}`);
    }
  }
  for (let r = 1; r <= rounds && !interrupted; r++) {
    for (const kind of active) {
      if (interrupted) break;
      await assertPrivateResolv();
      try {
        if (kind === 'tray') await trayRound(r, nsBaseline);
        else await clientRound(kind, r, script, nsBaseline);
      } catch (err) {
        if (running) await stopClient(running).catch(() => {});
        running = null;
        failures.push({ kind, round: r, error: err.message });
        say(`round ${r} ${kind}: FAILED: ${err.message}`);
      }
      // A client must leave tbn-cli as it found it, or the next client would measure its leftovers.
      const after = await clientNsState();
      if (after !== nsBaseline) {
        warnings.push(`${kind} round ${r}: tbn-cli routes/links/resolv.conf not restored after exit`);
        say(`WARNING: ${kind} left state in tbn-cli:\n${after}`);
      }
      await sleep(300);
    }
  }
  if (agent && active.includes('agent') && !interrupted) {
    try {
      await connectViaAgent(agent);
      idle = { ...(await idleCost(agent, idleSeconds)), seconds: idleSeconds };
      say(
        `agent idle with the tunnel up: ${idle.cpuPercent.toFixed(3)} % of a core over ${idleSeconds} s, RSS ${idle.rssMiB.toFixed(1)} MiB (peak ${idle.peakRssMiB.toFixed(1)})`,
      );
      // The quiet agent of issue 14: the tunnel up, nothing else happening.
      diag = await diagBundleCost(agent);
      say(`diagnostic bundle: ${diagText(diag)}`);
      await disconnectViaAgent(agent, nsBaseline);
    } catch (err) {
      failures.push({ kind: 'agent', round: 'idle', error: err.message });
      say(`agent idle phase: FAILED: ${err.message}`);
    }
  }
  if (values['no-lossy']) notRun.lossy = 'skipped: --no-lossy';
  else if (!interrupted) await lossyPhase(script, nsBaseline);
} catch (err) {
  say(`ERROR: ${err.stack ?? err.message}`);
  if (lab) say(`server output (tail):\n${lab.logs().slice(-3000)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
const hostOk = await checkHost();
if (interrupted) process.exit(130);

for (const kind of active) {
  if (samples[kind].connect.length === 0) {
    const first = failures.find((f) => f.kind === kind);
    notRun[kind] = first ? `failed: ${first.error.split('\n')[0]}` : 'no round completed';
  }
}
const agg = aggregate(samples, notRun);
console.log(table(agg, notRun));
console.log('');
console.log(dtlsTable(agg, notRun));
const cipherText = Object.entries(ciphers).map(([k, c]) => `${k} ${c}`);
if (cipherText.length) console.log(`DTLS ciphers: ${cipherText.join('; ')}`);
const lossy = lossyInfo ? { ...lossySummary(lossyMbps), ...lossyInfo } : null;
if (lossy) {
  console.log('');
  console.log(lossyTable(lossy));
  console.log(
    `lossy link: ${LOSSY_LINK.delayMsEachWay} ms and ${LOSSY_LINK.lossPercentEachWay} % loss each way (user-space delay line, no netem in this kernel), ping RTT ${lossy.rttMs.toFixed(1)} ms (${lossy.pingLoss}); ` +
      `iperf3 TCP download (-R) ${lossySeconds} s, ${lossyRounds} round(s), TCP congestion control ${lossyCc} (inner and outer); wire: ${wireText(lossy.wire)}`,
  );
} else console.log(`\nlossy phase: n/a (${notRun.lossy ?? 'not run'})`);
console.log('');
if (agg.stats.tray) {
  const s = agg.stats.tray;
  const d = agg.tray.minusAgentConnectMs;
  console.log(
    `tray: click → first echo ${s.connect.median.toFixed(1)} ms, → the page shows "Connected to …" ${s.shown.median.toFixed(1)} ms (medians); ` +
      (d == null
        ? 'no agent column to compare with'
        : `${d >= 0 ? '+' : ''}${d.toFixed(1)} ms against tandem connect to the same warm agent (target: within 50 ms; ${d <= 50 ? 'met' : 'NOT met'})`),
  );
}
if (idle)
  console.log(
    `agent idle with a tunnel up: ${idle.cpuPercent.toFixed(3)} % of one core over ${idle.seconds} s; RSS ${idle.rssMiB.toFixed(1)} MiB`,
  );
if (diag) console.log(`diagnostic bundle with a tunnel up (target ≤ 3 s, ≤ 2 MiB): ${diagText(diag)}`);
console.log(
  `${rounds} round(s) per client, iperf3 ${seconds} s per direction, TCP congestion control ${congestion ?? '?'} (the kernel's default), RSA-2048, TLS 1.2; ${((Date.now() - started) / 1000).toFixed(0)} s in total.`,
);
console.log(TRANSPORTS);
console.log(
  'Noise: the 2 vCPUs are shared with other tenants; both VPN ends, both iperf3 ends and the clients compete for them.',
);
for (const f of failures) console.log(`failed: ${f.kind} round ${f.round}: ${f.error.split('\n')[0]}`);
for (const w of warnings) console.log(`warning: ${w}`);
if (failures.length) process.exitCode = 1;
if (values.json)
  console.log(
    jsonLine(rounds, agg, notRun, { seconds, hostUnchanged: hostOk, failures: failures.length }, idle, lossy, diag),
  );
