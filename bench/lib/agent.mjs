/**
 * The way most users connect: a warm tandemd (started once per run in tbn-cli, as it would be
 * at boot) and an unprivileged `tandem connect vpn.lab.test` (uid 65534) asking it for the user
 * tunnel. Timed like the other clients: from just before the CLI is spawned to the first echo
 * through the tunnel. Throughput and CPU are the agent's own (it carries the packets); idle cost
 * is the agent's CPU time and RSS over a stretch with the tunnel up and no traffic.
 *
 * The agent is pointed at the CSTP-only ocserv (ocserv.mjs): tandemd has no switch to keep DTLS
 * off, and this column (and the tray's) compares with the CSTP columns.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NS, CSTP_ONLY_ADDR } from './lab.mjs';
import { CLIENT_ENV, clientNsState, startProber, TANDEM_CLI } from './clients.mjs';
import { cpuSeconds, peakRssMb } from './measure.mjs';
import { deadline, exited, nsSpawn, outputTail, sleep, stopProcess } from './sh.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TANDEMD = join(ROOT, 'apps/agent/bin/tandemd.js');
const NOBODY = '65534';
const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">
  <ClientInitialization>
    <CertificateStoreLinux>All</CertificateStoreLinux>
    <CertificateStoreOverride>true</CertificateStoreOverride>
  </ClientInitialization>
  <ServerList><HostEntry><HostName>Lab VPN</HostName><HostAddress>vpn.lab.test</HostAddress></HostEntry></ServerList>
</AnyConnectProfile>
`;

/** Current resident set size (VmRSS) in MiB. */
export function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The machine tunnel profile of the agent's netns tests (untrusted lab network: the tunnel runs). */
const MGMT_PROFILE = join(ROOT, 'test/fixtures/agent/mgmt-lab.xml');

/**
 * A private tree for tandemd (on tmpfs, like /run): the user profile for the lab gateway, the
 * machine certificate in its machine store (ocserv authenticates it for the user tunnel, which
 * the profile allows), and its socket reachable by uid 65534; with `machineTunnel` also the
 * management tunnel profile, so the agent brings the machine tunnel up by itself. The tree
 * outlives the agent, so a restarted agent finds its network journal (as systemd keeps
 * /run/tandem across an automatic restart).
 * @param {{ns?: string, resolve?: string|null, machineTunnel?: boolean, logLevel?: string}} [opts]
 *   `resolve`: the `--resolve HOST:IP` argument (null: none, the name goes through the resolver)
 * @returns {{ns: string, args: string[], socket: string, userStore: string, dirs: string[]}}
 */
export function prepareAgent(pki, opts = {}) {
  // Profiles and keys need a root-owned path all the way up (not /dev/shm, which is 1777);
  // the state directory with the network journal goes on tmpfs, as /run is on a systemd host.
  const dir = mkdtempSync('/run/tandem-bench-agent-');
  const tmpfs = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tandem-bench-agent-'));
  chmodSync(dir, 0o755);
  const d = (name, mode, base = dir) => {
    const p = join(base, name);
    mkdirSync(p, { recursive: true, mode });
    chmodSync(p, mode);
    return p;
  };
  const profiles = d('profiles', 0o755);
  writeFileSync(join(profiles, 'lab.xml'), PROFILE, { mode: 0o644 });
  if (opts.machineTunnel) {
    const mgmt = join(d('profiles/mgmttun', 0o755), 'VpnMgmtTunProfile.xml');
    copyFileSync(MGMT_PROFILE, mgmt);
    chmodSync(mgmt, 0o644);
  }
  const machine = d('machine', 0o700);
  copyFileSync(pki.cert, join(machine, 'machine.crt'));
  copyFileSync(pki.key, join(machine, 'machine.key'));
  chmodSync(join(machine, 'machine.key'), 0o600);
  const userStore = d('user-store', 0o755);
  const socket = join(d('run', 0o755), 'tandemd.sock');
  const resolve = opts.resolve === undefined ? `vpn.lab.test:${CSTP_ONLY_ADDR}` : opts.resolve;
  const args = [
    '--foreground',
    '--socket',
    socket,
    '--profile-dir',
    profiles,
    '--no-cisco-profiles',
    '--state-dir',
    d('state', 0o755, tmpfs),
    '--settings-dir',
    d('settings', 0o700),
    // Log files as in production, but the bench's own (not /var/log/tandem).
    '--log-dir',
    d('logs', 0o750),
    '--machine-store',
    machine,
    '--gateway-ca',
    pki.root,
    ...(resolve ? ['--resolve', resolve] : []),
    ...(opts.logLevel ? ['--log-level', opts.logLevel] : []),
  ];
  return { ns: opts.ns ?? CLI_NS, args, socket, userStore, dirs: [dir, tmpfs] };
}

/**
 * Starts tandemd from a {@link prepareAgent} tree in its namespace, with the environment its
 * systemd unit gives it (packaging/systemd/tandemd.service). The spawned PID is the agent's
 * (`ip netns exec` and the launcher's `env -S` exec). Does not wait for anything.
 */
export function spawnAgent(tree) {
  return nsSpawn(tree.ns, TANDEMD, tree.args, { env: { ...CLIENT_ENV, MALLOC_ARENA_MAX: '2' } });
}

/** Starts tandemd in tbn-cli with a fresh {@link prepareAgent} tree; resolves once its socket exists. */
export async function startAgent(pki) {
  const tree = prepareAgent(pki);
  const child = spawnAgent(tree);
  const log = outputTail(child);
  for (let i = 0; !existsSync(tree.socket); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error(`tandemd did not start:\n${log().slice(-3000)}`);
    await sleep(20);
  }
  return { child, pid: child.pid, socket: tree.socket, userStore: tree.userStore, dirs: tree.dirs, log };
}

/** Runs the tandem CLI in tbn-cli as uid 65534 with the agent's socket. */
function userCli(agent, args) {
  return nsSpawn(
    CLI_NS,
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', TANDEM_CLI, ...args, '--socket', agent.socket],
    { env: { ...CLIENT_ENV, HOME: '/nonexistent' } },
  );
}

/**
 * `tandem connect vpn.lab.test` (the profile's host) as uid 65534; resolves once a datagram through the tunnel has been
 * answered, with the time since spawn. The CLI itself exits 0 once the agent reports connected.
 */
export async function connectViaAgent(agent) {
  const { probe, up } = await startProber();
  const t0 = process.hrtime.bigint();
  const cli = userCli(agent, ['connect', 'vpn.lab.test', '--user-store', agent.userStore]);
  let out = '';
  cli.stdout.on('data', (b) => {
    out += b;
  });
  cli.stderr.on('data', (b) => {
    out += b;
  });
  try {
    const failed = new Promise((_, reject) =>
      cli.once('exit', (code) => {
        if (code !== 0) reject(new Error(`tandem connect exited ${code}: ${out.slice(-2000)}`));
      }),
    );
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no reply through the tunnel within 30 s')), 30_000).unref(),
    );
    const t1 = await Promise.race([up, failed, timeout]);
    await Promise.race([exited(cli), deadline(10_000)]);
    return Number(t1 - t0) / 1e6;
  } catch (err) {
    cli.kill('SIGINT');
    throw new Error(`agent: ${err.message}\n--- tandemd log (tail) ---\n${agent.log().slice(-3000)}`, { cause: err });
  } finally {
    probe.kill('SIGKILL');
  }
}

/** `tandem disconnect` as the tunnel's owner; resolves once tbn-cli is back to `baseline`. */
export async function disconnectViaAgent(agent, baseline) {
  const cli = userCli(agent, ['disconnect']);
  const code = await Promise.race([exited(cli), deadline(15_000, 'timeout')]);
  if (code !== 0) throw new Error(`tandem disconnect: ${code}`);
  await waitRestored(baseline, 'tandem disconnect');
}

/** Resolves once tbn-cli is back to `baseline` (routes, links, resolv.conf); fails after 5 s. */
export async function waitRestored(baseline, after) {
  for (let i = 0; i < 100; i++) {
    if ((await clientNsState()) === baseline) return;
    await sleep(50);
  }
  throw new Error(`tbn-cli not restored 5 s after ${after}`);
}

/**
 * The agent's cost with the tunnel up and idle: CPU time over `seconds` as a percentage of one
 * core, and its resident set at the end.
 */
export async function idleCost(agent, seconds) {
  await sleep(5000); // let the bring-up's garbage collection settle
  const cpu0 = cpuSeconds(agent.pid);
  await sleep(seconds * 1000);
  const cpu = cpuSeconds(agent.pid) - cpu0;
  return { cpuPercent: (cpu / seconds) * 100, rssMiB: rssMb(agent.pid), peakRssMiB: peakRssMb(agent.pid) };
}

/** Stops the agent (SIGTERM: it takes its tunnel down first) and removes its tree. */
export async function stopAgent(agent) {
  const code = await stopProcess(agent.child, 'SIGTERM');
  for (const d of agent.dirs) rmSync(d, { recursive: true, force: true });
  return code;
}

/**
 * `tandem diag bundle --json` against the warm agent with its tunnel up, as root (the
 * administrators' bundle: agent logs, processes, machine store) and as uid 65534 (the user's):
 * wall time from spawn to exit (Node start included), the command's own build time, and the
 * archive's size. Issue 14's target for a quiet agent: ≤ 3 s and ≤ 2 MiB.
 */
export async function diagBundleCost(agent) {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-diag-'));
  chmodSync(dir, 0o777);
  const one = async (who) => {
    const out = join(dir, `${who}.zip`);
    const args = ['diag', 'bundle', '--json', '--out', out, '--socket', agent.socket];
    const t0 = process.hrtime.bigint();
    const cli =
      who === 'admin'
        ? nsSpawn(CLI_NS, TANDEM_CLI, args, { env: { ...CLIENT_ENV, HOME: '/nonexistent' } })
        : userCli(agent, ['diag', 'bundle', '--json', '--out', out, '--user-store', agent.userStore]);
    const text = outputTail(cli);
    let stdout = '';
    cli.stdout.on('data', (b) => {
      stdout += b;
    });
    const code = await Promise.race([exited(cli), deadline(60_000, 'timeout')]);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (code !== 0) throw new Error(`tandem diag bundle (${who}) exited ${code}: ${text().slice(-2000)}`);
    const res = JSON.parse(stdout);
    if (!(res.size > 0) || res.audience !== (who === 'admin' ? 'admin' : 'user'))
      throw new Error(`tandem diag bundle (${who}): unexpected answer ${stdout}`);
    return { wallMs, buildMs: res.ms, bytes: res.size };
  };
  try {
    return { admin: await one('admin'), user: await one('user') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
