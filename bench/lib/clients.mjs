/**
 * The two client programs, each in two rows: CSTP (`openconnect`, `tandem`: both with
 * `--no-dtls`, so all data goes over TLS/TCP) and DTLS (`openconnect-dtls`, `tandem-dtls`: DTLS
 * offered and used once up). All are started the same way (`ip netns exec tbn-cli …`, which execs
 * the client, so the spawned PID is the client's own) and timed the same way: from a monotonic
 * timestamp taken just before spawn to the first echo through the tunnel (probe.mjs). A DTLS row
 * then waits for the client to say its DTLS channel is up before anything is measured.
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
/** From the first echo until the client reports DTLS up (its handshake retransmits after 1 s). */
const DTLS_TIMEOUT_MS = 15_000;

/** The program a row runs (`openconnect` or `tandem`). */
export const programOf = (kind) => kind.replace(/-dtls$/, '');
/** The transport a row's data must use (checked on the wire, wire.mjs). */
export const transportOf = (kind) => (kind.endsWith('-dtls') ? 'dtls' : 'cstp');

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
    '--no-dtls',
  ];
  const missing = needed.filter((f) => !usage.includes(f));
  return missing.length ? `tandem connect not built yet (usage lacks ${missing.join(' ')})` : null;
}

/**
 * argv of each client. Same gateway, trust anchor, machine cert, vpnc-script; only the TUN name
 * differs so a leftover device of one can never be mistaken for the other's. The CSTP rows get
 * `--no-dtls`, the DTLS rows nothing more than a user would type.
 * @param {string} gateway the address vpn.lab.test resolves to (the lossy path uses another)
 */
export function clientArgv(kind, pki, script, journalDir, gateway = SRV_ADDR) {
  const noDtls = transportOf(kind) === 'cstp' ? ['--no-dtls'] : [];
  if (programOf(kind) === 'openconnect') {
    return [
      'openconnect',
      [
        '--non-inter',
        ...noDtls,
        `--resolve=vpn.lab.test:${gateway}`,
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
      `vpn.lab.test:${gateway}`,
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
      ...noDtls,
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
 * Resolves when the client says its DTLS channel carries data — tandem's `dtls-up` JSON event,
 * openconnect's "Established DTLS connection … Ciphersuite …" — with the monotonic time the line
 * arrived and the cipher it names.
 * @returns {Promise<{t: bigint, cipher: string}>}
 */
function dtlsUp(kind, child) {
  const tandem = programOf(kind) === 'tandem';
  return new Promise((resolve) => {
    let buf = '';
    const on = (d) => {
      const t = process.hrtime.bigint();
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        const found = tandem
          ? tandemDtlsUp(line)
          : /Established DTLS connection.*Ciphersuite (\S+?)\.?$/.exec(line)?.[1];
        if (!found) continue;
        child.stdout.off('data', on);
        child.stderr.off('data', on);
        resolve({ t, cipher: found });
        return;
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
  });
}

/** The cipher of a tandem `--json` line if it is the `dtls-up` event. */
function tandemDtlsUp(line) {
  if (!line.includes('"dtls-up"')) return null;
  try {
    const e = JSON.parse(line);
    return e.event === 'dtls-up' ? `${e.protocol} ${e.cipher}` : null;
  } catch {
    return null;
  }
}

/**
 * Starts a client and resolves once a datagram through the tunnel has been answered; for a DTLS
 * row also once the client has said DTLS is up (`dtlsMs`: spawn → that line, `dtlsCipher`).
 * @param {string} [gateway] the address vpn.lab.test resolves to (default: the lab's gateway)
 * @returns {Promise<{kind: string, child: import('node:child_process').ChildProcess, pid: number, connectMs: number, dtlsMs?: number, dtlsCipher?: string, log: () => string}>}
 */
export async function startClient(kind, pki, script, journalDir, gateway = SRV_ADDR) {
  const [cmd, args] = clientArgv(kind, pki, script, journalDir, gateway);
  const { probe, up } = await startProber();
  const t0 = process.hrtime.bigint();
  const child = nsSpawn(CLI_NS, cmd, args, { env: CLIENT_ENV });
  const log = outputTail(child);
  const dtls = transportOf(kind) === 'dtls' ? dtlsUp(kind, child) : null;
  try {
    const died = new Promise((_, reject) =>
      child.once('exit', (code, sig) => reject(new Error(`exited (${code ?? sig}) before the tunnel came up`))),
    );
    died.catch(() => {});
    const timeout = (ms, what) =>
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms).unref());
    const t1 = await Promise.race([up, died, timeout(CONNECT_TIMEOUT_MS, 'no reply through the tunnel')]);
    const connectMs = Number(t1 - t0) / 1e6;
    // openconnect's usual readiness check is an ICMP echo: make sure ICMP passes too (not timed).
    await nsExec(CLI_NS, 'ping', ['-c1', '-W2', '-n', BEHIND]).catch(() => {
      throw new Error('UDP went through the tunnel but ping did not');
    });
    const client = { kind, child, pid: child.pid, connectMs, log };
    if (!dtls) return client;
    const d = await Promise.race([dtls, died, timeout(DTLS_TIMEOUT_MS, 'the client did not report DTLS up')]);
    return { ...client, dtlsMs: Number(d.t - t0) / 1e6, dtlsCipher: d.cipher };
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
