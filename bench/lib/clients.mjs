/**
 * The two clients, started the same way in the client namespace and timed the same way: from
 * just before spawn to the first reply through the tunnel (probe.mjs: 1 ms resolution).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NS, BEHIND, SRV_ADDR } from './lab.mjs';
import { nsSpawn, exited, sleep, sh } from './sh.mjs';
import { PROBER } from './probe.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TANDEM_CLI = join(ROOT, 'apps/cli/bin/tandem.js');

/** The system vpnc-script, used by both clients. */
export async function vpncScript() {
  const files = (await sh('dpkg', ['-L', 'vpnc-scripts'])).split('\n');
  const script = files.find((f) => /\/vpnc-script$/.test(f) && existsSync(f));
  if (!script) throw new Error('vpnc-script not found (apt-get install vpnc-scripts)');
  return script;
}

/** argv for each client. */
export function clientArgs(kind, files, script, journalDir) {
  if (kind === 'openconnect') {
    return ['openconnect', ['--non-inter', '--no-dtls', `--resolve=vpn.lab.test:${SRV_ADDR}`, `--cafile=${files.ca}`, '-c', files.cert, '-k', files.key, `--script=${script}`, '--interface=tbntun0', 'https://vpn.lab.test/']];
  }
  return [process.execPath, [TANDEM_CLI, 'connect', 'https://vpn.lab.test/', '--foreground', '--resolve', `vpn.lab.test:${SRV_ADDR}`, '--cafile', files.ca, '--machine-cert', files.cert, '--machine-key', files.key, '--script', script, '--interface', 'tbntun1', '--journal-dir', journalDir]];
}

/** Starts a client and resolves once a ping through the tunnel is answered. */
export async function startClient(kind, files, script, journalDir) {
  const [cmd, args] = clientArgs(kind, files, script, journalDir);
  const t0 = Date.now();
  const child = nsSpawn(CLI_NS, cmd, args);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const probe = nsSpawn(CLI_NS, process.execPath, ['-e', PROBER, BEHIND]);
  const firstReply = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${kind}: no reply through the tunnel within 20 s\n${log}`)), 20_000);
    probe.stdout.on('data', (d) => {
      buf += d;
      const m = /^(\d{13})$/m.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with ${code} before the tunnel came up\n${log}`));
    });
  });
  probe.kill('SIGKILL');
  return { child, pid: child.pid, connectMs: firstReply - t0, log: () => log };
}

/** Stops a client with SIGINT to its PID only (as in the anchor lab) and waits for it. */
export async function stopClient(client) {
  client.child.kill('SIGINT');
  const t = setTimeout(() => client.child.kill('SIGKILL'), 10_000);
  await exited(client.child);
  clearTimeout(t);
  await sleep(200);
}
