/**
 * The user tunnel's trusted network detection policies (docs/always-on.md#trusted-network-detection-and-the-user-tunnel)
 * with real processes in network namespaces: root's tandemd, tandem-lab-gateway (the user's
 * certificate), and the user's tray core (apps/tray/scripts/bridge-stdio.mjs) in the background as
 * an unprivileged user. The tray's connection stands by as that user's signer from its start
 * (`signer.register`), so UntrustedNetworkPolicy Connect brings the tunnel up at login without a
 * click; the tray stays connected throughout.
 *
 * Trust comes from the profile's TrustedHttpsServerList: a TLS server on the physical network
 * answers with the pinned certificate on the "trusted network" and drops the connection on the
 * untrusted one. A move between networks is that switch plus a netlink event (an address added
 * and removed), as a DHCP exchange makes. Not resolv.conf: while a tunnel is up the agent reads
 * the physical DNS from the network journal's pre-tunnel copy (docs/always-on.md#network-changes),
 * so a trusted DNS domain written then is not seen.
 *
 * The address behind the gateway is unreachable from the client's physical address (nftables
 * drops it in the server namespace), so a ping that answers went through the tunnel.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, standardLab, titled, writePem, type Lab } from '@tandem/testkit';
import { NetnsLab } from './lib/netns.js';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import { ensureAgentBuilt, ROOT, runClient, scratch, type Scratch } from './fixtures/agent/helpers.js';
import { startNetnsAgent, type NetnsAgent } from './fixtures/agent/netns-agent.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { ensureTrayBuilt, NOBODY, TrayCore, trayUser, type TrayUser } from '../apps/tray/test/lib/real-tray.js';

const run = promisify(execFile);
const skip = missing('netns', 'nft', 'ping', 'setpriv');
const CLI = join(ROOT, 'apps/cli/bin/tandem.js');
// Unique per process: another checkout may run the same suite at the same time.
const N = 20 + (process.pid % 200);
const BEHIND = `10.251.${N}.1`;
const HOST = 'Lab VPN';
const TRUSTED_PORT = 4443;

/** The trusted HTTPS server: the pinned certificate while `flag` exists, a dropped connection otherwise. */
const TRUSTED_SERVER = `
const fs = require('node:fs'), net = require('node:net'), tls = require('node:tls');
const [cert, key, flag, host, port] = process.argv.slice(1);
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
server.on('tlsClientError', () => {});
server.on('secureConnection', (s) => s.on('error', () => {}));
net.createServer((s) => {
  s.on('error', () => {});
  if (fs.existsSync(flag)) server.emit('connection', s);
  else s.destroy();
}).listen(Number(port), host);
`;

type Trusted = 'Disconnect' | 'Pause';
type Untrusted = 'Connect' | 'DoNothing';
type Status = {
  user: { ownerUid?: number; status: { state: string; cause?: { code: string } } };
  network?: { trust: string };
};

/** The user profile: host "Lab VPN", TND by one trusted HTTPS server, the given policies. */
function profile(server: { address: string; hash: string }, trusted: Trusted, untrusted: Untrusted): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">
  <ClientInitialization>
    <CertificateStoreLinux>All</CertificateStoreLinux>
    <CertificateStoreOverride>true</CertificateStoreOverride>
    <AutomaticVPNPolicy>true
      <TrustedHttpsServerList><TrustedHttpsServer><Address>${server.address}</Address><Port>${TRUSTED_PORT}</Port>
        <CertificateHash>${server.hash}</CertificateHash></TrustedHttpsServer></TrustedHttpsServerList>
      <TrustedNetworkPolicy>${trusted}</TrustedNetworkPolicy>
      <UntrustedNetworkPolicy>${untrusted}</UntrustedNetworkPolicy>
    </AutomaticVPNPolicy>
  </ClientInitialization>
  <ServerList><HostEntry><HostName>${HOST}</HostName><HostAddress>vpn.lab.test:8443</HostAddress></HostEntry></ServerList>
</AnyConnectProfile>
`;
}

describe.skipIf(skip !== null)(
  titled('tandemd: user tunnel TND policies with the tray as the user signer (netns, lab gateway)', skip),
  () => {
    const lab = new NetnsLab(`tut${N}`, [248, N]);
    let pki: Lab;
    let gw: GatewayProc;
    let s: Scratch;
    let agent: NetnsAgent;
    let user: TrayUser;
    let tray: TrayCore;
    let flag: string;
    let hash: string;
    let baseline: string;

    beforeAll(async () => {
      ensureAgentBuilt();
      buildCli();
      ensureTrayBuilt();
      await lab.create();
      await lab.exec(lab.srv, 'ip', ['addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
      // BEHIND answers only through the tunnel: what comes in on the physical link is dropped.
      await lab.exec(lab.srv, 'nft', ['add', 'table', 'inet', 'behind']);
      await lab.exec(lab.srv, 'nft', [
        'add',
        'chain',
        'inet',
        'behind',
        'in',
        '{ type filter hook input priority 0 ; policy accept ; }',
      ]);
      await lab.exec(lab.srv, 'nft', [
        ...['add', 'rule', 'inet', 'behind', 'in', 'iifname', `${lab.prefix}-vs`],
        ...['ip', 'daddr', BEHIND, 'drop'],
      ]);
      pki = await standardLab(`tut${N}`);
      const server = writePem(pki.dir, 'gw-server', pki.server, [pki.intermediate]);
      gw = await GatewayProc.start(
        [
          ...['--cert', server.cert, '--key', server.key, '--ca', pki.caFile, '--dpd', '10'],
          ...['--mca', '--username-from', 'second'],
          ...['--pool', `10.249.${N}.0/24`, '--split-include', `10.251.${N}.0/24`, '--tun', `tutg${N}`],
          ...['--dns', `10.251.${N}.53`, '--default-domain', 'corp.lab.test'],
        ],
        { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
      );
      s = scratch();
      flag = join(s.dir, 'trusted-network');
      hash = new X509Certificate(pki.server.certPem).fingerprint256.replace(/:/g, '').toLowerCase();
      lab.spawn(lab.srv, process.execPath, [
        ...['-e', TRUSTED_SERVER, server.cert, server.key, flag, lab.srvAddr, String(TRUSTED_PORT)],
      ]);
      writeProfile('Disconnect', 'Connect');
      // The user certificate is MCA's second one: the machine certificate is the first.
      writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
      writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      chmodSync(s.dir, 0o755);
      user = trayUser(NOBODY, { 'alice.pem': pki.user.certPem + pki.intermediate.certPem + pki.user.keyPem });
      agent = startNetnsAgent(lab, s, pki);
      await waitUser(() => true, 'the agent answering', 15_000);
      baseline = await lab.snapshot();
    }, 120_000);

    afterAll(async () => {
      await tray?.stop();
      if (agent) {
        agent.child.kill('SIGTERM');
        await Promise.race([agent.exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
      await gw?.stop();
      await lab.destroy();
      s?.cleanup();
      user?.cleanup();
      if (pki) rmSync(pki.dir, { recursive: true, force: true });
    });

    function writeProfile(trusted: Trusted, untrusted: Untrusted): void {
      const file = join(s.profiles, 'user.xml');
      writeFileSync(file, profile({ address: lab.srvAddr, hash }, trusted, untrusted), { mode: 0o644 });
      chmodSync(file, 0o644);
    }

    /** Rewrites the policies and has the agent reload them (SIGHUP); resolves once TND ran on them. */
    async function reloadPolicy(trusted: Trusted, untrusted: Untrusted): Promise<void> {
      writeProfile(trusted, untrusted);
      const from = agent.stderr().length;
      agent.child.kill('SIGHUP');
      const end = Date.now() + 10_000;
      while (!/SIGHUP[\s\S]*trusted network detection/.test(agent.stderr().slice(from))) {
        if (Date.now() > end) throw new Error(`no reload:\n${agent.stderr().slice(-3000)}`);
        await sleep(50);
      }
    }

    async function status(): Promise<Status | null> {
      const r = await runClient(s.socket, { calls: [['status', {}]] }).catch(() => null);
      return (r?.results[0]?.result as Status | undefined) ?? null;
    }

    /** Polls the agent's status until `pred` holds; returns the time it took. */
    async function waitUser(pred: (st: Status) => boolean, what: string, ms = 20_000): Promise<number> {
      const t0 = Date.now();
      for (;;) {
        const st = await status();
        if (st && pred(st)) return Date.now() - t0;
        if (Date.now() - t0 > ms)
          throw new Error(`${what} not reached: ${JSON.stringify(st)}\n${agent.stderr().slice(-4000)}`);
        await sleep(50);
      }
    }
    const userState = (state: string) => (st: Status) => st.user.status.state === state;

    /** Waits until the client namespace is as before the first tunnel (routes, addresses, links, resolv.conf). */
    async function waitRestored(ms = 10_000): Promise<number> {
      const t0 = Date.now();
      for (;;) {
        const now = await lab.snapshot();
        if (now === baseline) return Date.now() - t0;
        if (Date.now() - t0 > ms) expect(now).toBe(baseline);
        await sleep(50);
      }
    }

    /**
     * Moves the client to the trusted or the untrusted network: the trusted server answers or
     * not, and netlink reports a change (an address that comes and goes), as after a DHCP exchange.
     * Resolves once the agent has evaluated TND on the new network.
     */
    async function moveTo(network: 'trusted' | 'untrusted'): Promise<void> {
      if (network === 'trusted') writeFileSync(flag, '');
      else rmSync(flag, { force: true });
      await networkEvent();
    }

    async function networkEvent(): Promise<void> {
      const from = agent.stderr().length;
      const mark = `192.0.2.${N}/32`;
      await lab.exec(lab.cli, 'ip', ['addr', 'add', mark, 'dev', 'lo']);
      await lab.exec(lab.cli, 'ip', ['addr', 'del', mark, 'dev', 'lo']);
      const end = Date.now() + 10_000;
      while (!agent.stderr().slice(from).includes('trusted network detection')) {
        if (Date.now() > end)
          throw new Error(`no TND evaluation after the network event:\n${agent.stderr().slice(-3000)}`);
        await sleep(20);
      }
    }

    const ping = () => lab.exec(lab.cli, 'ping', ['-n', '-c1', '-W2', BEHIND]);
    const sessions = () => gw.all('session').length;
    const logouts = () => gw.all('disconnect').filter((e) => e['logout'] === true).length;
    const report = (line: string) => process.stdout.write(`agent user TND: ${line}\n`);

    it('at login: the tray stands by as the signer and UntrustedNetworkPolicy Connect brings the tunnel up without a click', async () => {
      await expect(lab.exec(lab.cli, 'ping', ['-n', '-c1', '-W1', BEHIND])).rejects.toThrow();
      expect((await status())?.user.status.state).toBe('idle');
      const t0 = Date.now();
      tray = await TrayCore.start({ socket: s.socket, user, netns: lab.cli });
      await waitUser(userState('connected'), 'the user tunnel started by policy at login');
      report(`tray started (login) → user tunnel connected by the agent in ${Date.now() - t0} ms`);
      await tray.waitForView((v) => v.agent === 'up' && v.hosts.some((h) => h.name === HOST), 'the host list');
      const st = await status();
      expect(st?.user.ownerUid).toBe(NOBODY);
      expect(st?.network?.trust).toBe('untrusted');
      expect(sessions()).toBe(1);
      expect(agent.stderr()).toMatch(/trusted network detection: user tunnel policy.*"action":"connect"/);
      // The tunnel holds the network: its DNS is in resolv.conf, which a policy's end must restore.
      expect(await lab.exec(lab.cli, 'cat', ['/etc/resolv.conf'])).toContain(`10.251.${N}.53`);
      await ping();
    }, 30_000);

    it('TrustedNetworkPolicy Disconnect: a trusted network ends the user tunnel (logout) and restores the network', async () => {
      const t0 = Date.now();
      await moveTo('trusted');
      await waitUser(userState('idle'), 'the user tunnel ended');
      const ended = Date.now() - t0;
      const restored = await waitRestored();
      report(`trusted network (Disconnect) → user tunnel idle in ${ended} ms, network restored ${restored} ms later`);
      expect(logouts()).toBe(1);
      // No management profile: the network's trust shown is the user profiles' verdict.
      expect((await status())?.network?.trust).toBe('trusted');
      await expect(lab.exec(lab.cli, 'ping', ['-n', '-c1', '-W1', BEHIND])).rejects.toThrow();
      // Still trusted after another change on the same network: nothing comes up.
      await networkEvent();
      await sleep(500);
      expect((await status())?.user.status.state).toBe('idle');
      expect(sessions()).toBe(1);
    }, 30_000);

    it('UntrustedNetworkPolicy Connect: on an untrusted network the agent brings the tunnel up by itself for the signer', async () => {
      const t0 = Date.now();
      await moveTo('untrusted');
      await waitUser(userState('connected'), 'the automatic user tunnel');
      report(`untrusted network (Connect) → user tunnel connected by the agent in ${Date.now() - t0} ms`);
      // A new authentication through the tray's signer, for the tray's user.
      expect(sessions()).toBe(2);
      const st = await status();
      expect(st?.user.ownerUid).toBe(NOBODY);
      expect(st?.network?.trust).toBe('untrusted');
      await ping();
    }, 30_000);

    it('TrustedNetworkPolicy Pause: the tunnel ends on a trusted network and comes back (new authentication) on the next untrusted one', async () => {
      // UntrustedNetworkPolicy DoNothing: what brings the tunnel back is the pause alone.
      await reloadPolicy('Pause', 'DoNothing');
      expect((await status())?.user.status.state).toBe('connected');
      let t0 = Date.now();
      await moveTo('trusted');
      await waitUser(userState('idle'), 'the paused user tunnel');
      const ended = Date.now() - t0;
      const restored = await waitRestored();
      report(`trusted network (Pause) → user tunnel idle in ${ended} ms, network restored ${restored} ms later`);
      expect(logouts()).toBe(2);
      t0 = Date.now();
      await moveTo('untrusted');
      await waitUser(userState('connected'), 'the resumed user tunnel');
      report(`untrusted network → paused user tunnel connected again in ${Date.now() - t0} ms`);
      expect(sessions()).toBe(3);
      expect((await status())?.user.ownerUid).toBe(NOBODY);
      await ping();
    }, 30_000);

    it("the user's own tandem disconnect: no automatic connect on the same network; the next untrusted network connects", async () => {
      await reloadPolicy('Disconnect', 'Connect');
      const off = await run(
        'ip',
        ['netns', 'exec', lab.cli, 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'].concat([
          process.execPath,
          CLI,
          'disconnect',
          '--socket',
          s.socket,
        ]),
        { timeout: 30_000, env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } },
      );
      expect(off.stdout + off.stderr).not.toMatch(/error/i);
      expect((await status())?.user.status.state).toBe('idle');
      await waitRestored();
      // The same (untrusted) network changes again: the user's choice stands.
      await networkEvent();
      await sleep(1500);
      expect((await status())?.user.status.state).toBe('idle');
      expect(sessions()).toBe(3);
      // Another network, then an untrusted one again: Connect applies.
      await moveTo('trusted');
      const t0 = Date.now();
      await moveTo('untrusted');
      await waitUser(userState('connected'), 'the automatic user tunnel after a network change');
      report(`after the user's disconnect: a new untrusted network → connected by the agent in ${Date.now() - t0} ms`);
      expect(sessions()).toBe(4);
      await ping();
    }, 30_000);
  },
);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
