#!/usr/bin/env node
/**
 * `npm run soak` (issue 17): a real machine tunnel (tandemd in a client namespace against
 * ocserv in a gateway namespace) under random faults, one at a time: gateway crash, loss burst,
 * link flap, agent crash, DNS failure with a transport kill. After each fault it waits until
 * the tunnel carries traffic again; at the end it stops the agent with SIGTERM and checks what
 * it left behind. The soak is the agent's service manager: it restarts the agent 1 s after it
 * dies. Needs root and a built tree; without root it says why and exits 2.
 *
 *   npm run soak -- --minutes N [--json] [--seed S] [--interval SECONDS] [--log FILE]
 */
import '../scripts/require-node.mjs';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareAgent, TANDEMD } from './lib/agent.mjs';
import { FAULT_TABLE, inject, kindSequence, removeFaultTable, seededRandom } from './lib/faults.mjs';
import { hostState, teardown } from './lib/lab.mjs';
import { leaksAgainst, nsState } from './lib/leaks.mjs';
import { now, TunnelSampler } from './lib/sampler.mjs';
import { sh, sleep } from './lib/sh.mjs';
import { createSoakLab, DPD_SECONDS, RESOLVERS, SOAK_NETS } from './lib/soak-lab.mjs';
import { growthOf, summarize, table } from './lib/soak-report.mjs';
import { AgentSupervisor, fdDiff } from './lib/supervisor.mjs';

const HELP = `Usage: npm run soak -- [options]   (or: sudo node_modules/.bin/node bench/soak.mjs [options])
  --minutes N        how long to inject faults (default 5; decimals allowed)
  --interval S       seconds from one fault's start to the next (default 20; later if recovery takes longer)
  --seed S           seed of the fault sequence (default: random, printed)
  --cap S            seconds a fault may take to recover after it is lifted before it counts as failed (default 120)
  --resolver R       how the agent finds the gateway's address: hosts (default; the client namespace's
                     hosts file) or dns (a nameserver on the uplink, as on a real network)
  --log FILE         also write the agent's output (every instance, --log-level debug) to FILE
  --json             last line: {"faults":N,"reconnect":{"p50Ms","p95Ms","maxMs"},"downtimeMs":N,
                     "growth":{"fds","rssMiB"},"leaks":{"routes","dns","nft","fds"},"byKind":{…},…}
Exit: 0 all faults recovered and nothing leaked; 1 otherwise; 2 cannot run (not root, not built, missing tools).`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    interval: { type: 'string' },
    seed: { type: 'string' },
    cap: { type: 'string' },
    log: { type: 'string' },
    resolver: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const minutes = Number(values.minutes ?? 5);
const intervalS = Number(values.interval ?? 20);
const capS = Number(values.cap ?? 120);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const resolver = values.resolver ?? 'hosts';
if (!(minutes > 0) || !(intervalS >= 1) || !(capS >= 5) || !Number.isInteger(seed) || !RESOLVERS.includes(resolver)) {
  console.error(HELP);
  process.exit(64);
}
const say = (m) => console.error(`soak: ${m}`);
/** After a recovery the tunnel gets this long before it is sampled or faulted again. */
const SETTLE_MS = 2000;

if (process.getuid?.() !== 0) {
  console.log(
    'npm run soak needs root: it creates the network namespaces tsk-cli/tsk-srv, runs ocserv and tandemd (TUN device, routes, DNS) and injects faults with nftables. Run it as root (sudo npm run soak). Nothing was run.',
  );
  process.exit(2);
}
for (const bin of ['ip', 'ocserv', 'nft', 'openssl', 'ss']) {
  try {
    await sh('sh', ['-c', 'command -v "$0"', bin]);
  } catch {
    console.log(`npm run soak needs ${bin} (apt-get install iproute2 ocserv nftables openssl). Nothing was run.`);
    process.exit(2);
  }
}
const ROOT = fileURLToPath(new URL('../', import.meta.url));
if (!existsSync(join(ROOT, 'apps/agent/dist/main.js'))) {
  console.log(`npm run soak needs a built tree (npm run build): ${TANDEMD} has no dist/. Nothing was run.`);
  process.exit(2);
}

const rand = seededRandom(seed);
const nextKind = kindSequence(rand);
const hostBefore = await hostState();
let lab = null;
let tree = null;
let sampler = null;
let supervisor = null;
let interrupted = false;

/** Stops everything and removes the lab; once, whether called by the run's end or by a signal. */
let cleaning = null;
function cleanup() {
  cleaning ??= cleanupOnce();
  return cleaning;
}
async function cleanupOnce() {
  if (supervisor) await supervisor.stop().catch(() => {});
  sampler?.stop();
  await removeFaultTable().catch(() => {});
  // Interrupted while the lab was being made: its namespaces may exist without a lab object.
  await (lab ? lab.destroy() : teardown(SOAK_NETS)).catch(() => {});
  for (const d of tree?.dirs ?? []) rmSync(d, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Takes the current instance's first sample once its tunnel has been up for SETTLE_MS. */
async function sampleFirstIfNew() {
  if (supervisor.current.first) return;
  await sleep(SETTLE_MS);
  supervisor.sample('first');
}

/** Injects faults until the time is up; returns the fault records. */
async function faultLoop(end) {
  const faults = [];
  let next = now() + BigInt(intervalS * 1e9);
  for (let i = 1; next < end && !interrupted; i++) {
    if (next > now()) await sleep(Number(next - now()) / 1e6);
    if (interrupted) break;
    const kind = nextKind();
    const t0 = now();
    next = t0 + BigInt(intervalS * 1e9);
    supervisor.note(`fault ${i} ${kind} starts`);
    const detail = await inject(kind, { lab, supervisor }, rand);
    supervisor.note(`fault ${i} lifted: ${detail}`);
    const up = await sampler.trafficAfter(now(), capS * 1000);
    if (interrupted) break;
    const ms = up === null ? null : Number(up - t0) / 1e6;
    supervisor.note(`fault ${i}: ${ms === null ? 'not recovered' : `traffic again after ${Math.round(ms)} ms`}`);
    faults.push({ kind, ms, detail });
    say(
      `fault ${i} ${kind}: ${detail} → ${ms === null ? `NOT recovered within ${capS} s after it was lifted` : `traffic again after ${(ms / 1000).toFixed(1)} s`}`,
    );
    if (ms === null) {
      say(`agent #${supervisor.current.n} log (tail):\n${supervisor.current.log.slice(-4000)}`);
      if (resolver === 'dns') say(`nameserver (tail):\n${lab.dnsLog().slice(-1500)}`);
    } else await sampleFirstIfNew();
    const settled = now() + BigInt(SETTLE_MS * 1e6);
    if (next < settled) next = settled;
  }
  return faults;
}

/** One agent instance for the report: how long it lived, how it ended, its two samples. */
function instanceRecord(inst, runStart, runEnd) {
  const from = inst.startedAt > runStart ? inst.startedAt : runStart;
  return {
    n: inst.n,
    pid: inst.pid,
    livedS: Math.round(Number((inst.exitedAt ?? runEnd) - from) / 1e8) / 10,
    exit: inst.exit,
    fds: inst.first && inst.last ? [inst.first.fds, inst.last.fds] : null,
    dnsInFlight: inst.first && inst.last ? [inst.first.dnsInFlight, inst.last.dnsInFlight] : null,
    fdChange: inst.first && inst.last ? fdDiff(inst.first, inst.last) : null,
    rssMiB: inst.first && inst.last ? [inst.first.rssMiB, inst.last.rssMiB].map((x) => Math.round(x * 10) / 10) : null,
  };
}

let summary = null;
let leakDetail = [];
let exitCode = 0;
try {
  say(
    `seed ${seed}, ${minutes} min, a fault every ${intervalS} s, recovery cap ${capS} s, gateway DPD ${DPD_SECONDS} s, gateway name via ${resolver}`,
  );
  lab = await createSoakLab(resolver);
  sampler = new TunnelSampler(SOAK_NETS.cli, SOAK_NETS.behind);
  await sampler.started();
  tree = prepareAgent(lab.pki, { ns: SOAK_NETS.cli, resolve: null, machineTunnel: true, logLevel: 'debug' });
  if (values.log) writeFileSync(values.log, '');
  supervisor = new AgentSupervisor(tree, { restartMs: 1000, logFile: values.log ?? null, say });
  const baseline = await nsState(SOAK_NETS.cli);
  const t0 = now();
  supervisor.start();
  const firstUp = await sampler.trafficAfter(t0, 60_000);
  if (firstUp === null)
    throw new Error(`the machine tunnel did not come up within 60 s:\n${supervisor.current.log.slice(-4000)}`);
  say(`machine tunnel up ${(Number(firstUp - t0) / 1e6).toFixed(0)} ms after the agent started`);
  await sampleFirstIfNew();
  const end = firstUp + BigInt(Math.round(minutes * 60e9));
  const faults = await faultLoop(end);
  if (interrupted) throw new Error('interrupted');
  await sleep(SETTLE_MS);
  supervisor.sample('last');
  const runEnd = now();
  const last = supervisor.current;
  const downtimeMs = sampler.downtimeMs(firstUp, runEnd);
  const code = await supervisor.stop();
  if (code !== 0) say(`agent #${last.n} exited ${code} after SIGTERM`);
  await removeFaultTable();
  const leaks = await leaksAgainst(SOAK_NETS.cli, baseline, FAULT_TABLE);
  leakDetail = leaks.detail;
  const fdLeak = last.first && last.last ? last.last.fds - last.first.fds : null;
  const restarts = supervisor.instances.slice(1);
  const recovered = restarts.filter((i) => i.log.includes('network journal: restored routes and DNS')).length;
  summary = summarize(faults, {
    downtimeMs,
    growth: growthOf(supervisor.instances, firstUp, runEnd),
    leaks: { routes: leaks.routes, dns: leaks.dns, nft: leaks.nft, fds: fdLeak },
    runMs: Math.round(Number(runEnd - firstUp) / 1e6),
    seed,
    intervalSeconds: intervalS,
    resolver,
    dpdSeconds: DPD_SECONDS,
    agentInstances: supervisor.instances.length,
    agentCrashes: supervisor.crashes.length,
    journalRecoveries: `${recovered} of ${restarts.length} restart(s)`,
    instances: supervisor.instances.map((i) => instanceRecord(i, firstUp, runEnd)),
  });
  if (summary.failures || supervisor.crashes.length || leakDetail.length || fdLeak !== 0 || code !== 0) exitCode = 1;
} catch (err) {
  if (!interrupted) {
    say(`ERROR: ${err.stack ?? err.message}`);
    if (lab) say(`gateway output (tail):\n${lab.gatewayLog().slice(-2000)}`);
  }
  exitCode = 1;
} finally {
  await cleanup();
}
if (interrupted) process.exit(130);
if ((await hostState()) !== hostBefore) {
  say('ERROR: the host routes or /etc/resolv.conf changed during the run (another tenant, or a lab leak)');
  exitCode = 1;
}
if (summary) {
  console.log(table(summary));
  for (const l of leakDetail) console.log(`leak: ${l}`);
  if (values.log) console.log(`agent output: ${values.log}`);
  if (values.json) console.log(JSON.stringify(summary));
}
process.exitCode = exitCode;
