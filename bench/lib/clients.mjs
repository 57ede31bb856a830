/**
 * The two clients, started the same way (`ip netns exec tbn-cli …`, which execs the client,
 * so the spawned PID is the client's own) and timed the same way: from a monotonic timestamp
 * taken just before spawn to the first echo through the tunnel (probe.mjs).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEHIND, CLI_NS, SRV_ADDR } from './lab.mjs';
import { PROBER } from './probe.mjs';
import { deadline, exited, nsExec, nsSpawn, outputTail, sh, sleep, stopProcess } from './sh.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TANDEM_CLI = join(ROOT, 'apps/cli/bin/tandem.js');
export const TUN = { openconnect: 'tbntun0', tandem: 'tbntun1' };
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The environment both clients run with: what `sudo` leaves a root command (env_reset keeps
 * PATH, HOME, TERM, LANG). The caller's environment could carry settings that cost one client
 * and not the other: this sandbox exports NODE_EXTRA_CA_CERTS (the system CA bundle), which
 * makes every Node process parse ~140 certificates before its first line (+38 ms here), and
 * which a real `sudo tandem connect` would never see. (tandemd's systemd unit unsets it too.)
 * PATH starts with the directory of the Node that Tandem runs on (this process's, the pinned
 * `node` devDependency), as an installed Tandem's launcher finds its bundled runtime: sudo's
 * PATH alone would start the launcher on the system's older Node.
 */
export const CLIENT_ENV = Object.freeze({
  PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  HOME: '/root',
  TERM: process.env.TERM ?? 'dumb',
  LANG: process.env.LANG ?? 'C.UTF-8',
});

/** The system vpnc-script (from `dpkg -L vpnc-scripts`), used by both clients. */
export async function vpncScript() {
  const files = (await sh('dpkg', ['-L', 'vpnc-scripts'])).split('\n');
  const script = files.find((f) => /\/vpnc-script$/.test(f) && existsSync(f));
  if (!script) throw new Error('vpnc-script not found (apt-get install vpnc-scripts)');
  return script;
}

/**
 * Whether `tandem connect URL --foreground` exists and takes the flags the bench passes.
 * @returns {Promise<string|null>} null when usable, else why not (shown in the tandem column)
 */
export async function tandemUnavailable() {
  if (!existsSync(TANDEM_CLI) || !existsSync(join(ROOT, 'apps/cli/dist/main.js')))
    return 'tandem connect not built yet';
  let usage = '';
  try {
    usage = await sh(process.execPath, [TANDEM_CLI, 'connect', 'https://vpn.lab.test/', '--foreground', '--help'], {
      timeoutMs: 20_000,
    });
  } catch (err) {
    usage = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  const needed = [
    '--foreground',
    '--resolve',
    '--cafile',
    '--machine-cert',
    '--machine-key',
    '--script',
    '--interface',
    '--journal-dir',
  ];
  const missing = needed.filter((f) => !usage.includes(f));
  return missing.length ? `tandem connect not built yet (usage lacks ${missing.join(' ')})` : null;
}

/**
 * argv of each client. Same gateway, trust anchor, machine cert, vpnc-script; only the TUN name
 * differs so a leftover device of one can never be mistaken for the other's.
 */
export function clientArgv(kind, pki, script, journalDir) {
  if (kind === 'openconnect') {
    return [
      'openconnect',
      [
        '--non-inter',
        '--no-dtls',
        `--resolve=vpn.lab.test:${SRV_ADDR}`,
        `--cafile=${pki.root}`,
        '-c',
        pki.cert,
        '-k',
        pki.key,
        `--script=${script}`,
        `--interface=${TUN.openconnect}`,
        'https://vpn.lab.test/',
      ],
    ];
  }
  // Run as the executable users run (its `#!/usr/bin/env -S node --use-openssl-ca` line
  // applies), not as `node bin/tandem.js`.
  return [
    TANDEM_CLI,
    [
      'connect',
      'https://vpn.lab.test/',
      '--foreground',
      '--json',
      '--resolve',
      `vpn.lab.test:${SRV_ADDR}`,
      '--cafile',
      pki.root,
      '--machine-cert',
      pki.cert,
      '--machine-key',
      pki.key,
      // --journal-dir: the default (/run/tandem/netjournal) is on the host, outside the lab.
      '--script',
      script,
      '--interface',
      TUN.tandem,
      '--journal-dir',
      journalDir,
    ],
  ];
}

/** Starts the UDP prober and resolves once it runs, so its own start-up is not timed. */
export async function startProber() {
  const probe = nsSpawn(CLI_NS, process.execPath, ['-e', PROBER, BEHIND]);
  let buf = '';
  probe.stdout.on('data', (d) => {
    buf += d;
  });
  for (let i = 0; !buf.includes('ready'); i++) {
    if (i > 200 || probe.exitCode !== null) throw new Error('the tunnel prober did not start');
    await sleep(10);
  }
  const up = new Promise((resolve, reject) => {
    probe.stdout.on('data', () => {
      const m = /^up (\d+)$/m.exec(buf);
      if (m) resolve(BigInt(m[1]));
    });
    probe.once('exit', (code) => {
      if (code !== 0) reject(new Error(`no reply through the tunnel within 30 s`));
    });
  });
  up.catch(() => {});
  return { probe, up };
}

/**
 * Starts a client and resolves once a datagram through the tunnel has been answered.
 * @returns {Promise<{kind: string, child: import('node:child_process').ChildProcess, pid: number, connectMs: number, log: () => string}>}
 */
export async function startClient(kind, pki, script, journalDir) {
  const [cmd, args] = clientArgv(kind, pki, script, journalDir);
  const { probe, up } = await startProber();
  const t0 = process.hrtime.bigint();
  const child = nsSpawn(CLI_NS, cmd, args, { env: CLIENT_ENV });
  const log = outputTail(child);
  try {
    const died = new Promise((_, reject) =>
      child.once('exit', (code, sig) => reject(new Error(`exited (${code ?? sig}) before the tunnel came up`))),
    );
    const timeout = new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`no reply through the tunnel within ${CONNECT_TIMEOUT_MS / 1000} s`)),
        CONNECT_TIMEOUT_MS,
      ).unref(),
    );
    const t1 = await Promise.race([up, died, timeout]);
    const connectMs = Number(t1 - t0) / 1e6;
    // openconnect's usual readiness check is an ICMP echo: make sure ICMP passes too (not timed).
    await nsExec(CLI_NS, 'ping', ['-c1', '-W2', '-n', BEHIND]).catch(() => {
      throw new Error('UDP went through the tunnel but ping did not');
    });
    return { kind, child, pid: child.pid, connectMs, log };
  } catch (err) {
    child.kill('SIGINT');
    await Promise.race([exited(child), deadline(10_000)]);
    child.kill('SIGKILL');
    throw new Error(`${kind}: ${err.message}\n--- ${kind} output (tail) ---\n${log().slice(-4000)}`, { cause: err });
  } finally {
    probe.kill('SIGKILL');
  }
}

/**
 * Stops a client with SIGINT to its PID only (a process-group signal would also interrupt
 * the vpnc-script disconnect it runs) and waits for it to exit.
 * @returns {Promise<number|string>} exit code, or the signal name if it had to be killed
 */
export function stopClient(client) {
  return stopProcess(client.child, 'SIGINT');
}

/** Routes, links and resolv.conf of the client namespace, to check a client cleaned up. */
export async function clientNsState() {
  const routes = await nsExec(CLI_NS, 'ip', ['-4', 'route', 'show', 'table', 'all']);
  const links = (await nsExec(CLI_NS, 'ip', ['-o', 'link', 'show']))
    .split('\n')
    .map((l) => l.split(':')[1]?.trim())
    .filter(Boolean)
    .join(' ');
  const resolv = await nsExec(CLI_NS, 'cat', ['/etc/resolv.conf']);
  return `${routes}\n${links}\n${resolv}`;
}
