#!/usr/bin/env node
/**
 * `npm run bench`: openconnect, `tandem connect --foreground`, a user connecting through a
 * warm tandemd (`agent`) and the same user clicking Connect in the tray's window against that
 * agent (`tray`: connect time only), against the same ocserv, CSTP only, the same vpnc-script and a real
 * TUN, interleaved in one run: connect time, iperf3 TCP both ways, CPU s per GB, RSS; then the
 * agent's idle cost with a tunnel up. Needs root (network namespaces); without it, says so and
 * exits 0 having measured nothing.
 *
 *   npm run bench [-- --rounds N] [--seconds S] [--idle-seconds S] [--quick] [--only tandem,agent,tray,openconnect] [--json]
 */
import '../scripts/require-node.mjs';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertPrivateResolv, createLab, destroyLab, hostState } from './lib/lab.mjs';
import { clientNsState, startClient, stopClient, tandemUnavailable, vpncScript } from './lib/clients.mjs';
import { initClock, peakRssMb, transfer } from './lib/measure.mjs';
import { aggregate, jsonLine, KINDS, METRICS, table } from './lib/report.mjs';
import { connectViaAgent, disconnectViaAgent, idleCost, rssMb, startAgent, stopAgent } from './lib/agent.mjs';
import { sh, sleep } from './lib/sh.mjs';
import { connectViaTray, disconnectViaTray, startTray, stopTray, trayUnavailable } from './lib/tray.mjs';

const HELP = `Usage: npm run bench [-- options]   (or: sudo node_modules/.bin/node bench/run.mjs [options])
  --rounds N        rounds per client, interleaved A B A B (default 5)
  --seconds S       iperf3 duration per direction (default 10)
  --quick           smoke run: 1 round, 3 s
  --idle-seconds S  agent idle-cost window with the tunnel up (default 60)
  --only CLIENTS    tandem, agent, tray, openconnect, or several separated by commas
  --json            last line: {"rounds":N,"tandem":{…},"agent":{…},"tray":{…},"openconnect":{…},"ratio":{…}}`;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'idle-seconds': { type: 'string' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
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
const only = values.only?.split(',');
if (!(rounds >= 1) || !(seconds >= 1) || !(idleSeconds >= 1) || (only && !only.every((k) => KINDS.includes(k)))) {
  console.error(HELP);
  process.exit(64);
}
const kinds = only ?? ['openconnect', 'tandem', 'agent', 'tray'];
const say = (m) => console.error(`bench: ${m}`);

if (process.getuid?.() !== 0) {
  console.log(
    'npm run bench needs root: it creates the network namespaces tbn-cli/tbn-srv, a TUN device per client, and runs ocserv. Run it as root (sudo npm run bench). Nothing was measured.',
  );
  process.exit(0);
}
for (const bin of ['ocserv', 'openconnect', 'iperf3', 'ping', 'openssl', 'ss', 'dpkg']) {
  try {
    await sh('sh', ['-c', 'command -v "$0"', bin]);
  } catch {
    console.log(
      `npm run bench needs ${bin} (apt-get install ocserv openconnect iperf3 iputils-ping vpnc-scripts openssl iproute2). Nothing was measured.`,
    );
    process.exit(0);
  }
}

/** Client → reason it has no numbers (not built, or every round failed). */
const notRun = {};
for (const k of KINDS) if (!kinds.includes(k)) notRun[k] = `not selected: --only ${values.only}`;
for (const k of ['tandem', 'agent', 'tray']) {
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
const failures = [];
const warnings = [];
const hostBefore = await hostState();
let lab = null;
let running = null;
let journalDir = null;
let agent = null;
let tray = null;
let idle = null;

async function cleanup() {
  if (running) await stopClient(running).catch(() => {});
  running = null;
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

/** One round of a client that carries its own packets (or the agent's): connect, iperf3 both ways, stop. */
async function clientRound(kind, r, script, nsBaseline) {
  let c;
  let rss;
  let code = 0;
  let up;
  let down;
  if (kind === 'agent') {
    c = { pid: agent.pid, connectMs: await connectViaAgent(agent) };
    try {
      up = await transfer(c.pid, seconds, false);
      down = await transfer(c.pid, seconds, true);
      rss = rssMb(agent.pid);
    } finally {
      // The warm agent outlives a failed round: its tunnel must not, or every later round fails too.
      await disconnectViaAgent(agent, nsBaseline);
    }
  } else {
    running = await startClient(kind, lab.pki, script, journalDir);
    c = running;
    up = await transfer(c.pid, seconds, false);
    down = await transfer(c.pid, seconds, true);
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
  say(
    `round ${r} ${kind}: connect ${c.connectMs.toFixed(1)} ms, up ${up.gbps.toFixed(3)} Gbit/s (${up.retransmits} retr), down ${down.gbps.toFixed(3)} Gbit/s, CPU ${up.cpu.toFixed(2)}+${down.cpu.toFixed(2)} s → ${s.cpuPerGB.at(-1).toFixed(2)} s/GB, peak RSS ${rss.toFixed(1)} MiB, exit ${code}`,
  );
  if (code !== 0) warnings.push(`${kind} round ${r}: exit ${code} after SIGINT`);
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
  const nsBaseline = await clientNsState();
  say(`${rounds} round(s), iperf3 TCP ${seconds} s each way, clients: ${kinds.join(', ')}; vpnc-script ${script}`);
  say(
    'CSTP only (TLS 1.2 over TCP): tandem has no DTLS yet, so ocserv offers none and openconnect runs with --no-dtls',
  );
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
      await disconnectViaAgent(agent, nsBaseline);
      say(
        `agent idle with the tunnel up: ${idle.cpuPercent.toFixed(3)} % of a core over ${idleSeconds} s, RSS ${idle.rssMiB.toFixed(1)} MiB (peak ${idle.peakRssMiB.toFixed(1)})`,
      );
    } catch (err) {
      failures.push({ kind: 'agent', round: 'idle', error: err.message });
      say(`agent idle phase: FAILED: ${err.message}`);
    }
  }
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
console.log(
  `${rounds} round(s) per client, iperf3 ${seconds} s per direction, CSTP only (no DTLS: tandem has none yet), RSA-2048, TLS 1.2; ${((Date.now() - started) / 1000).toFixed(0)} s in total.`,
);
console.log(
  'Noise: the 2 vCPUs are shared with other tenants; both VPN ends, both iperf3 ends and the clients compete for them.',
);
for (const f of failures) console.log(`failed: ${f.kind} round ${f.round}: ${f.error.split('\n')[0]}`);
for (const w of warnings) console.log(`warning: ${w}`);
if (failures.length) process.exitCode = 1;
if (values.json)
  console.log(jsonLine(rounds, agg, notRun, { seconds, hostUnchanged: hostOk, failures: failures.length }, idle));
