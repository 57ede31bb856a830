/**
 * The soak's lab (`npm run soak`): its own namespaces and subnet, so it never meets the bench's
 * (tbn-*, 10.234.x) or a test's.
 *
 *   tsk-cli 10.242.9.2 ── veth tsk-vc/tsk-vs ── 10.242.9.1 tsk-srv: ocserv :443 tcp+udp (DTLS), DPD 6 s
 *   default via 10.242.9.1 (the uplink)             lo 10.242.20.1 ("behind the VPN"): UDP echo :7007
 *   unreachable 10.242.0.0/16 (10.242.20.1 only through the tunnel)
 *   /etc/netns/tsk-cli/hosts: vpn.lab.test → 10.242.9.1 (the agent resolves the gateway through it)
 *
 * The gateway's name is not given to tandemd with `--resolve`: the agent resolves it, so that
 * a name that stops resolving is a DNS failure. Two ways (`resolver`):
 * - `hosts` (default): through the namespace's hosts file (ip netns exec bind-mounts it over
 *   /etc/hosts); the failure takes the line out, and the client namespace's nameserver
 *   (192.0.2.53) answers nothing. The file is rewritten in place, never replaced, because a bind
 *   mount follows the inode.
 * - `dns`: as on a real network, the uplink's nameserver 192.0.2.53 (a /32 on tsk-srv's lo,
 *   dns-responder.mjs) serves the name; the failure stops the responder. While the tunnel is up,
 *   resolv.conf names the tunnel's DNS server instead (10.242.20.53, which answers nothing).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespaces, teardown, waitListening } from './lab.mjs';
import { killOcserv, spawnOcserv, writeOcservConfig } from './ocserv.mjs';
import { makePki } from './pki.mjs';
import { ECHO_PORT, ECHO_SERVER } from './probe.mjs';
import { DNS_RESPONDER } from './dns-responder.mjs';
import { exited, nsExec, nsSpawn, outputTail } from './sh.mjs';

const GATEWAY_ADDR = '10.242.9.1';
const HOST = 'vpn.lab.test';
/** The uplink's nameserver (the client namespace's resolv.conf). */
const UPLINK_DNS = '192.0.2.53';
const HOSTS_HEAD = '# tsk-cli (tandem soak lab)\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n';

/** Namespaces, addresses and the resolv.conf marker of the soak lab. */
export const SOAK_NETS = Object.freeze({
  cli: 'tsk-cli',
  srv: 'tsk-srv',
  veth: ['tsk-vc', 'tsk-vs'],
  cliAddr: '10.242.9.2',
  srvAddrs: [GATEWAY_ADDR],
  behind: '10.242.20.1',
  marker: '# tsk-cli (tandem soak lab)',
  unreachable: '10.242.0.0/16',
  defaultVia: GATEWAY_ADDR,
  nameserver: UPLINK_DNS,
  hosts: `${HOSTS_HEAD}${GATEWAY_ADDR} ${HOST}\n`,
});

/** Ways the agent finds the gateway's address (see above). */
export const RESOLVERS = Object.freeze(['hosts', 'dns']);

/** The uplink of the client namespace (the interface faults act on). */
export const UPLINK = SOAK_NETS.veth[0];

/** DPD the gateway asks for, in seconds (short: a dead path is noticed within seconds). */
export const DPD_SECONDS = 6;

/** The soak's ocserv (ocserv.mjs' config with a short DPD, DTLS offered). */
const GATEWAY = Object.freeze({
  name: 'soak',
  listen: GATEWAY_ADDR,
  udp: true,
  pool: '10.242.100.0/24',
  device: 'tskv',
  dpd: DPD_SECONDS,
  keepalive: 10,
  route: '10.242.20.0/24',
  dns: '10.242.20.53',
  domain: 'soak.lab.test',
});

/**
 * Creates the namespaces, the PKI, the gateway and the echo responder; with `resolver` 'dns'
 * also the uplink's nameserver.
 * @param {'hosts'|'dns'} [resolver]
 * @returns {Promise<SoakLab>}
 */
export async function createSoakLab(resolver = 'hosts') {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-soak-'));
  chmodSync(dir, 0o755); // ocserv workers (nobody) read the server key and CA files here
  const lab = new SoakLab(dir, resolver);
  try {
    await createNamespaces(resolver === 'dns' ? { ...SOAK_NETS, hosts: HOSTS_HEAD } : SOAK_NETS);
    if (resolver === 'dns') {
      await nsExec(SOAK_NETS.srv, 'ip', ['addr', 'add', `${UPLINK_DNS}/32`, 'dev', 'lo']);
      await lab.setGatewayResolvable(true);
    }
    lab.pki = await makePki(dir);
    lab.conf = await writeOcservConfig(dir, lab.pki, GATEWAY);
    lab.echo = nsSpawn(SOAK_NETS.srv, process.execPath, ['-e', ECHO_SERVER, SOAK_NETS.behind]);
    await lab.startGateway();
    await waitListening('-lun', [`${SOAK_NETS.behind}:${ECHO_PORT}`], 'the UDP echo responder', SOAK_NETS.srv);
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** A running soak lab. */
export class SoakLab {
  constructor(dir, resolver) {
    this.dir = dir;
    this.resolver = resolver;
    this.dns = null;
    this.dnsLog = () => '';
    this.pki = null;
    this.conf = null;
    this.echo = null;
    this.gateway = null;
    this.gatewayLog = () => '';
  }

  /** Starts ocserv and resolves once it listens on TCP and UDP 443. */
  async startGateway() {
    this.gateway = spawnOcserv(SOAK_NETS.srv, this.conf);
    this.gatewayLog = outputTail(this.gateway, 10_000);
    await waitListening('-ltn', [`${GATEWAY_ADDR}:443`], `ocserv:\n${this.gatewayLog().slice(-2000)}`, SOAK_NETS.srv);
    await waitListening('-lun', [`${GATEWAY_ADDR}:443`], "ocserv's DTLS port", SOAK_NETS.srv);
  }

  /** SIGKILLs every ocserv process (a crash of the gateway); returns how many there were. */
  killGateway() {
    this.gateway = null;
    return killOcserv(SOAK_NETS.srv);
  }

  /**
   * Makes the gateway's name resolve, or not: the line in the client namespace's hosts file
   * (rewritten in place), or the uplink's nameserver running or not.
   */
  async setGatewayResolvable(yes) {
    if (this.resolver === 'hosts') {
      writeFileSync(`/etc/netns/${SOAK_NETS.cli}/hosts`, yes ? SOAK_NETS.hosts : HOSTS_HEAD);
    } else if (!yes && this.dns) {
      this.dns.kill('SIGKILL');
      await exited(this.dns);
      this.dns = null;
    } else if (yes && !this.dns) {
      this.dns = nsSpawn(SOAK_NETS.srv, process.execPath, ['-e', DNS_RESPONDER, UPLINK_DNS, HOST, GATEWAY_ADDR]);
      const log = outputTail(this.dns, 10_000);
      const before = this.dnsLog();
      this.dnsLog = () => before + log();
      await waitListening('-lun', [`${UPLINK_DNS}:53`], 'the DNS responder', SOAK_NETS.srv);
    }
  }

  /** Kills everything in the namespaces, removes them, their /etc/netns files and the temp dir. */
  async destroy() {
    await teardown(SOAK_NETS);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
