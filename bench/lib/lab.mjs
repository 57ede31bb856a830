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
/** The bench's namespaces and addresses (createNamespaces' spec). */
const BENCH_NETS = Object.freeze({
  cli: CLI_NS,
  srv: SRV_NS,
  veth: ['tbn-vc', 'tbn-vs'],
  cliAddr: CLI_ADDR,
  srvAddrs: [SRV_ADDR, CSTP_ONLY_ADDR],
  behind: BEHIND,
  marker: MARKER,
});

/**
 * Removes whatever this bench (or a crashed earlier run) left: processes in the namespaces,
 * the namespaces, their /etc/netns dirs, and vpnc-script backups that carry our marker.
 */
export function teardown(spec = BENCH_NETS) {
  return removeNamespaces([spec.cli, spec.srv], spec.marker);
}

/** Waits until `ss -ltn` (or -lun) in the server namespace `ns` lists every wanted socket. */
export async function waitListening(flags, wanted, what, ns = SRV_NS) {
  for (let i = 0; i < 150; i++) {
    const ss = await nsExec(ns, 'ss', [flags]);
    if (wanted.every((w) => ss.includes(w))) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start listening`);
}

/**
 * A client/server namespace pair joined by a veth (leftovers of an earlier run removed first),
 * each with its own resolv.conf (the client's starts with `spec.marker`), and the server's
 * `lo` carrying `spec.behind`/32. The client reaches the lab's /16 only through a tunnel
 * (`unreachable` route); `defaultVia` adds a default route as a DHCP-configured uplink has, and
 * `hosts` a private /etc/hosts (ip netns exec bind-mounts both files over the host's).
 * @param {{cli: string, srv: string, veth: [string, string], cliAddr: string, srvAddrs: string[],
 *   behind: string, marker: string, unreachable?: string, defaultVia?: string, hosts?: string,
 *   nameserver?: string}} spec
 */
export async function createNamespaces(spec) {
  await teardown(spec);
  const [vc, vs] = spec.veth;
  for (const ns of [spec.cli, spec.srv]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    const marker = ns === spec.cli ? spec.marker : `# ${ns} (tandem bench lab)`;
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `${marker}\nnameserver ${spec.nameserver ?? '192.0.2.53'}\n`);
  }
  if (spec.hosts !== undefined) writeFileSync(`/etc/netns/${spec.cli}/hosts`, spec.hosts);
  const steps = [
    ['netns', 'add', spec.cli],
    ['netns', 'add', spec.srv],
    // No IPv6 duplicate-address detection: a link-local address stays "tentative" (and its local
    // route absent) for a moment after every link-up, which would make before/after states differ.
    ...[spec.cli, spec.srv].map((ns) => [
      'netns',
      'exec',
      ns,
      'sysctl',
      '-qw',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.all.accept_dad=0',
    ]),
    ['link', 'add', vc, 'type', 'veth', 'peer', 'name', vs],
    ['link', 'set', vc, 'netns', spec.cli],
    ['link', 'set', vs, 'netns', spec.srv],
    ['-n', spec.cli, 'addr', 'add', `${spec.cliAddr}/24`, 'dev', vc],
    ...spec.srvAddrs.map((a) => ['-n', spec.srv, 'addr', 'add', `${a}/24`, 'dev', vs]),
    ['-n', spec.cli, 'link', 'set', vc, 'up'],
    ['-n', spec.srv, 'link', 'set', vs, 'up'],
    ['-n', spec.cli, 'link', 'set', 'lo', 'up'],
    ['-n', spec.srv, 'link', 'set', 'lo', 'up'],
    ['-n', spec.srv, 'addr', 'add', `${spec.behind}/32`, 'dev', 'lo'],
    ['-n', spec.cli, 'route', 'add', 'unreachable', spec.unreachable ?? '10.234.0.0/16'],
    ...(spec.defaultVia ? [['-n', spec.cli, 'route', 'add', 'default', 'via', spec.defaultVia]] : []),
  ];
  for (const s of steps) await sh('ip', s);
  await assertPrivateResolv(spec.cli, spec.marker);
}

/**
 * Creates the lab and starts the servers.
 * @returns {Promise<{dir: string, pki: object, servers: import('node:child_process').ChildProcess[], logs: () => string}>}
 */
export async function createLab() {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  chmodSync(dir, 0o755); // ocserv workers (nobody) read the server key and CA files here
  await createNamespaces(BENCH_NETS);
  const pki = await makePki(dir);
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
 * Refuses to go on unless `/etc/resolv.conf` seen inside `ns` (tbn-cli) is the namespace's own copy:
 * vpnc-script (run by both clients) rewrites that file, and it must never be the host's.
 */
export async function assertPrivateResolv(ns = CLI_NS, marker = MARKER) {
  const inside = await nsExec(ns, 'cat', ['/etc/resolv.conf']);
  const host = readFileSync('/etc/resolv.conf', 'utf8');
  if (!inside.startsWith(marker) || host.includes(marker)) {
    throw new Error(
      `refusing to run: /etc/resolv.conf inside ${ns} is not the bind-mounted /etc/netns/${ns}/resolv.conf`,
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
