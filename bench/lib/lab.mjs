/**
 * The benchmark lab, the same for every client: namespaces tbn-cli / tbn-srv joined by a veth
 * (10.234.9.0/24), the PKI, two ocserv in tbn-srv (ocserv.mjs: 10.234.9.1 offers DTLS,
 * 10.234.9.3 does not), and an iperf3 server plus a UDP echo responder
 * on 10.234.20.1, a /32 on tbn-srv's `lo` (the kernel here has no dummy driver) standing for
 * the network "behind the VPN".
 *
 * The client namespace has no default route and an `unreachable 10.234.0.0/16`, so 10.234.20.1
 * answers only through the tunnel: the first reply from it means "tunnel up".
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki } from './pki.mjs';
import { GATEWAYS, writeOcservConfig } from './ocserv.mjs';
import { ECHO_SERVER } from './probe.mjs';
import { nsExec, nsSpawn, sh, sleep } from './sh.mjs';
import { hostState, removeNamespaces } from '../../scripts/lib/netns-hygiene.mjs';

export const CLI_NS = 'tbn-cli';
export const SRV_NS = 'tbn-srv';
/** The gateway that offers DTLS (the CSTP and DTLS rows of `tandem --foreground` and openconnect). */
export const SRV_ADDR = GATEWAYS.main.listen;
/** The CSTP-only gateway (no udp-port), for tandemd and the tray. */
export const CSTP_ONLY_ADDR = GATEWAYS.cstpOnly.listen;
export const CLI_ADDR = '10.234.9.2';
export const BEHIND = '10.234.20.1';
export const IPERF_PORT = '5201';
/** Marker line in the namespace resolv.conf: proves which file vpnc-script would edit. */
const MARKER = '# tbn-cli (tandem bench lab)';
/**
 * Removes whatever this bench (or a crashed earlier run) left: processes in the namespaces,
 * the namespaces, their /etc/netns dirs, and vpnc-script backups that carry our marker.
 */
export function teardown() {
  return removeNamespaces([CLI_NS, SRV_NS], MARKER);
}

/** Waits until `ss -ltn` (or -lun) in the server namespace lists every wanted socket. */
async function waitListening(flags, wanted, what) {
  for (let i = 0; i < 150; i++) {
    const ss = await nsExec(SRV_NS, 'ss', [flags]);
    if (wanted.every((w) => ss.includes(w))) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start listening`);
}

/**
 * Creates the lab and starts the servers.
 * @returns {Promise<{dir: string, pki: object, servers: import('node:child_process').ChildProcess[], logs: () => string}>}
 */
export async function createLab() {
  await teardown();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  chmodSync(dir, 0o755); // ocserv workers (nobody) read the server key and CA files here
  const pki = await makePki(dir);
  for (const ns of [CLI_NS, SRV_NS]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    const marker = ns === CLI_NS ? MARKER : `# ${ns} (tandem bench lab)`;
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `${marker}\nnameserver 192.0.2.53\n`);
  }
  const steps = [
    ['netns', 'add', CLI_NS],
    ['netns', 'add', SRV_NS],
    ['link', 'add', 'tbn-vc', 'type', 'veth', 'peer', 'name', 'tbn-vs'],
    ['link', 'set', 'tbn-vc', 'netns', CLI_NS],
    ['link', 'set', 'tbn-vs', 'netns', SRV_NS],
    ['-n', CLI_NS, 'addr', 'add', `${CLI_ADDR}/24`, 'dev', 'tbn-vc'],
    ['-n', SRV_NS, 'addr', 'add', `${SRV_ADDR}/24`, 'dev', 'tbn-vs'],
    ['-n', SRV_NS, 'addr', 'add', `${CSTP_ONLY_ADDR}/24`, 'dev', 'tbn-vs'],
    ['-n', CLI_NS, 'link', 'set', 'tbn-vc', 'up'],
    ['-n', SRV_NS, 'link', 'set', 'tbn-vs', 'up'],
    ['-n', CLI_NS, 'link', 'set', 'lo', 'up'],
    ['-n', SRV_NS, 'link', 'set', 'lo', 'up'],
    ['-n', SRV_NS, 'addr', 'add', `${BEHIND}/32`, 'dev', 'lo'],
    ['-n', CLI_NS, 'route', 'add', 'unreachable', '10.234.0.0/16'],
  ];
  for (const s of steps) await sh('ip', s);
  await assertPrivateResolv();
  const confs = [];
  for (const gw of Object.values(GATEWAYS)) confs.push(await writeOcservConfig(dir, pki, gw));
  let log = '';
  const servers = [
    ...confs.map((conf) => nsSpawn(SRV_NS, 'ocserv', ['-f', '-c', conf])),
    nsSpawn(SRV_NS, 'iperf3', ['-s', '-B', BEHIND, '-p', IPERF_PORT]),
    nsSpawn(SRV_NS, process.execPath, ['-e', ECHO_SERVER, BEHIND]),
  ];
  for (const s of servers) {
    // Keep only the tail: ocserv logs a few lines per connect for the whole run.
    const keep = (d) => {
      log = (log + d).slice(-20_000);
    };
    s.stdout.on('data', keep);
    s.stderr.on('data', keep);
  }
  await waitListening(
    '-ltn',
    [`${SRV_ADDR}:443`, `${CSTP_ONLY_ADDR}:443`, `${BEHIND}:${IPERF_PORT}`],
    'ocserv or iperf3',
  );
  await waitListening('-lun', [`${BEHIND}:7007`, `${SRV_ADDR}:443`], "the UDP echo responder or ocserv's DTLS port");
  return { dir, pki, servers, logs: () => log };
}

/**
 * Refuses to go on unless `/etc/resolv.conf` seen inside tbn-cli is the namespace's own copy:
 * vpnc-script (run by both clients) rewrites that file, and it must never be the host's.
 */
export async function assertPrivateResolv() {
  const inside = await nsExec(CLI_NS, 'cat', ['/etc/resolv.conf']);
  const host = readFileSync('/etc/resolv.conf', 'utf8');
  if (!inside.startsWith(MARKER) || host.includes(MARKER)) {
    throw new Error(
      'refusing to run: /etc/resolv.conf inside tbn-cli is not the bind-mounted /etc/netns/tbn-cli/resolv.conf',
    );
  }
}

/** Stops the servers and removes the lab and its temp dir. */
export async function destroyLab(lab) {
  for (const s of lab?.servers ?? []) s.kill('SIGTERM');
  await teardown();
  if (lab?.dir) rmSync(lab.dir, { recursive: true, force: true });
}

export { hostState };
