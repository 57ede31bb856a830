/**
 * The benchmark lab, the same for both clients: namespaces tbn-cli / tbn-srv joined by a veth,
 * a test PKI (RSA-2048, like the openconnect anchor measurements), ocserv with certificate auth
 * in CSTP-only mode, and an iperf3 server on an address "behind the VPN".
 *
 * The client namespace has no default route and an `unreachable 10.234.0.0/16`, so the address
 * behind the VPN answers only through the tunnel: the first ping reply is "tunnel up".
 */
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, nsExec, nsSpawn, sleep } from './sh.mjs';
import { ECHO_SERVER } from './probe.mjs';

export const CLI_NS = 'tbn-cli';
export const SRV_NS = 'tbn-srv';
export const SRV_ADDR = '10.234.9.1';
export const CLI_ADDR = '10.234.9.2';
export const BEHIND = '10.234.20.1';

async function openssl(args, cwd) {
  return sh('openssl', args, { cwd });
}

async function makePki(dir) {
  const o = (a) => openssl(a);
  await o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-subj', '/CN=Bench Root CA', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [name, cn, ext] of [
    ['server', 'vpn.lab.test', 'subjectAltName=DNS:vpn.lab.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n'],
    ['machine', 'machine.lab.test', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n'],
  ]) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`]);
    await o(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, `${name}.crt`), '-days', '30', '-extfile', join(dir, `${name}.ext`)]);
  }
  chmodSync(join(dir, 'server.key'), 0o644); // ocserv workers run as nobody
}

function ocservConf(dir) {
  return [
    'auth = "certificate"', `listen-host = ${SRV_ADDR}`, 'tcp-port = 443',
    `server-cert = ${join(dir, 'server.crt')}`, `server-key = ${join(dir, 'server.key')}`, `ca-cert = ${join(dir, 'ca.crt')}`,
    'cert-user-oid = 2.5.4.3', `socket-file = ${join(dir, 'ocserv.sock')}`, `pid-file = ${join(dir, 'ocserv.pid')}`,
    'run-as-user = nobody', 'run-as-group = nogroup', 'isolate-workers = false', 'max-clients = 16', 'max-same-clients = 0',
    'max-ban-score = 0', 'keepalive = 30', 'dpd = 60', 'mobile-dpd = 60', 'idle-timeout = 1200', 'cookie-timeout = 300',
    'try-mtu-discovery = false', 'cisco-client-compat = true', 'device = tbnv', 'predictable-ips = true',
    'ipv4-network = 10.234.100.0/24', 'route = 10.234.20.0/255.255.255.0', 'dns = 10.234.9.53', 'default-domain = bench.lab.test',
    'tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"',
  ].join('\n') + '\n';
}

/** Removes anything a previous (crashed) run left. */
export async function teardown() {
  for (const ns of [CLI_NS, SRV_NS]) {
    try {
      const pids = (await sh('ip', ['netns', 'pids', ns])).split(/\s+/).filter(Boolean);
      for (const pid of pids) try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    } catch { /* no namespace */ }
    await sh('ip', ['netns', 'del', ns]).catch(() => {});
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

/** Creates the lab; returns paths and the running server processes. */
export async function createLab() {
  await teardown();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  chmodSync(dir, 0o755);
  await makePki(dir);
  for (const ns of [CLI_NS, SRV_NS]) {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `# ${ns} (tandem bench lab)\nnameserver 192.0.2.53\n`);
  }
  const steps = [
    ['netns', 'add', CLI_NS], ['netns', 'add', SRV_NS],
    ['link', 'add', 'tbn-vc', 'type', 'veth', 'peer', 'name', 'tbn-vs'],
    ['link', 'set', 'tbn-vc', 'netns', CLI_NS], ['link', 'set', 'tbn-vs', 'netns', SRV_NS],
    ['-n', CLI_NS, 'addr', 'add', `${CLI_ADDR}/24`, 'dev', 'tbn-vc'], ['-n', SRV_NS, 'addr', 'add', `${SRV_ADDR}/24`, 'dev', 'tbn-vs'],
    ['-n', CLI_NS, 'link', 'set', 'tbn-vc', 'up'], ['-n', SRV_NS, 'link', 'set', 'tbn-vs', 'up'],
    ['-n', CLI_NS, 'link', 'set', 'lo', 'up'], ['-n', SRV_NS, 'link', 'set', 'lo', 'up'],
    ['-n', SRV_NS, 'addr', 'add', `${BEHIND}/32`, 'dev', 'lo'],
    ['-n', CLI_NS, 'route', 'add', 'unreachable', '10.234.0.0/16'],
  ];
  for (const s of steps) await sh('ip', s);
  // vpnc-script must only ever see the namespace's own resolv.conf.
  const resolv = await nsExec(CLI_NS, 'cat', ['/etc/resolv.conf']);
  if (!resolv.includes('tandem bench lab')) throw new Error('refusing to run: /etc/resolv.conf in the client namespace is not the lab copy');
  writeFileSync(join(dir, 'ocserv.conf'), ocservConf(dir));
  const ocserv = nsSpawn(SRV_NS, 'ocserv', ['-f', '-c', join(dir, 'ocserv.conf')]);
  const iperf = nsSpawn(SRV_NS, 'iperf3', ['-s', '-B', BEHIND, '-p', '5201']);
  const echo = nsSpawn(SRV_NS, process.execPath, ['-e', ECHO_SERVER, BEHIND]);
  for (let i = 0; ; i++) {
    const ss = await nsExec(SRV_NS, 'ss', ['-ltn']);
    if (ss.includes(`${SRV_ADDR}:443`) && ss.includes(`${BEHIND}:5201`)) break;
    if (i > 150) throw new Error('ocserv or iperf3 did not start');
    await sleep(100);
  }
  return { dir, ocserv, iperf, echo, files: { ca: join(dir, 'ca.crt'), cert: join(dir, 'machine.crt'), key: join(dir, 'machine.key') } };
}

/** The host's routes and resolv.conf, to prove the benchmark leaves them untouched. */
export async function hostState() {
  return `${await sh('ip', ['route', 'show', 'table', 'all'])}\n${readFileSync('/etc/resolv.conf', 'utf8')}`;
}
