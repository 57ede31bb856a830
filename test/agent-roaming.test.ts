/**
 * A laptop's network changing under a running tunnel, with tandemd and a real ocserv in network
 * namespaces. The client namespace has two uplinks to the gateway namespace (A, then B); the
 * machine tunnel is up over A. Each step changes the network the way a laptop sees it and
 * measures the time until traffic crosses the tunnel again:
 * - uplink swap (A goes down, the default route moves to B): the transport moves to B with the
 *   cookie, no new authentication;
 * - link flap on B (down, up, routes back as DHCP would set them): reconnected on B again;
 * - a new address on B (renumbering): reconnected from the new address;
 * - the agent frozen longer than the DPD time (SIGSTOP, as in a laptop's sleep), then thawed:
 *   the dead session is noticed at the first tick, not after another DPD period;
 * - a DHCP client rewriting resolv.conf under the tunnel: the tunnel's DNS is written back and
 *   the new physical DNS kept; when it names a trusted domain, TND ends the machine tunnel and
 *   the close leaves the newest physical resolv.conf, not the one from before the tunnel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { ensureAgentBuilt, scratch, type Scratch } from './fixtures/agent/helpers.js';
import {
  agentStatus,
  installMachineIdentity,
  startNetnsAgent,
  waitMachineConnected,
  type NetnsAgent,
} from './fixtures/agent/netns-agent.js';

const skip = missing('netns', 'ocserv', 'ping');
const BEHIND = '10.238.50.1';
const TUNNEL_DNS = '10.238.50.53';
const DPD = 4;

describe.skipIf(skip !== null)(titled('tandemd roaming: uplink swap, link flap, new address, freeze', skip), () => {
  const lab = new NetnsLab('roam', [238, 9]);
  const B = { cli: 'roam-bc', srv: 'roam-bs', cliAddr: '10.238.10.2', srvAddr: '10.238.10.1' };
  let pki: Lab;
  let gw: Ocserv;
  let s: Scratch;
  let agent: NetnsAgent;

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
    // Uplink B: a second veth between the same namespaces, idle until A goes away.
    await lab.exec(lab.cli, 'ip', ['link', 'add', B.cli, 'type', 'veth', 'peer', 'name', B.srv]);
    await lab.exec(lab.cli, 'ip', ['link', 'set', B.srv, 'netns', lab.srv]);
    await lab.exec(lab.cli, 'ip', ['addr', 'add', `${B.cliAddr}/24`, 'dev', B.cli]);
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${B.srvAddr}/24`, 'dev', B.srv]);
    await lab.exec(lab.cli, 'ip', ['link', 'set', B.cli, 'up']);
    await lab.exec(lab.srv, 'ip', ['link', 'set', B.srv, 'up']);
    // Renumbering adds the new address before the old one goes: keep it when the old goes.
    await lab.exec(lab.cli, 'sysctl', ['-qw', 'net.ipv4.conf.all.promote_secondaries=1']);
    pki = await standardLab('roam');
    gw = await startOcserv(lab, pki, {
      pool: '10.238.100.0/24',
      device: 'roamv',
      routes: ['10.238.50.0/24'],
      dpd: DPD,
      keepalive: 10,
      dns: TUNNEL_DNS,
    });
    s = scratch({ 'user.xml': 'test/fixtures/agent/user-lab.xml' });
    installMachineIdentity(s, pki);
    agent = startNetnsAgent(lab, s, pki);
    await waitMachineConnected(s, agent);
    await ping();
  }, 90_000);

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) {
      agent.child.kill('SIGCONT');
      agent.child.kill('SIGTERM');
      await agent.exited;
    }
    await gw?.stop();
    await lab.destroy();
    s?.cleanup();
  });

  const machineState = async (): Promise<string | null> => (await agentStatus(s))?.machine.status.state ?? null;

  /** One ping through the tunnel; throws when it gets no answer. */
  const ping = (): Promise<string> => lab.exec(lab.cli, 'ping', ['-c1', '-W0.2', BEHIND]);

  /** Milliseconds from `since` until a ping through the tunnel is answered (≤ 20 s). */
  async function trafficBack(since: number): Promise<number> {
    const end = since + 20_000;
    for (;;) {
      try {
        await ping();
        return Date.now() - since;
      } catch (err) {
        if (Date.now() > end)
          throw new Error(`no traffic through the tunnel\n${agent.stderr().slice(-4000)}`, { cause: err });
      }
    }
  }

  /** Waits until the agent's log has more reconnects than `before` (the log trails the ping). */
  async function reconnectedSince(before: number): Promise<void> {
    const end = Date.now() + 5000;
    while (reconnects() <= before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(reconnects(), agent.stderr().slice(-6000)).toBeGreaterThan(before);
  }

  const count = (text: string, pattern: RegExp): number => (text.match(new RegExp(pattern, 'g')) ?? []).length;
  const reconnects = (): number => count(agent.stderr(), /connection reconnected/);
  const logins = (): number => count(agent.stderr(), /connection authenticated|"msg":"connection authenticated"/);
  const cstpSource = async (): Promise<string> => {
    const ss = await lab.exec(lab.cli, 'ss', ['-Htn', 'state', 'established', 'dst', `${lab.srvAddr}:443`]);
    return ss.trim().split(/\s+/)[2] ?? '';
  };

  it('moves to uplink B when A goes down, with the cookie and no new login', async () => {
    expect(await cstpSource()).toBe(`${lab.cliAddr}:${(await cstpSource()).split(':')[1]}`);
    const [r0, l0] = [reconnects(), logins()];
    const t0 = Date.now();
    await lab.exec(lab.cli, 'ip', ['link', 'set', `${lab.prefix}-vc`, 'down']);
    await lab.exec(lab.cli, 'ip', ['route', 'replace', 'default', 'via', B.srvAddr]);
    const ms = await trafficBack(t0);
    console.log(`uplink swap A → B: traffic through the tunnel again after ${ms} ms`);
    expect(agent.stderr()).toMatch(/network path to the gateway changed; reconnecting/);
    await reconnectedSince(r0);
    expect(reconnects()).toBe(r0 + 1);
    expect(logins()).toBe(l0);
    expect(agent.stderr()).toMatch(/connection reconnected.*"reauthenticated":false|reauthenticated=false/);
    expect((await cstpSource()).startsWith(`${B.cliAddr}:`)).toBe(true);
    expect(await machineState()).toBe('connected');
  });

  it('comes back after B flaps (down, up, default route back)', async () => {
    const r0 = reconnects();
    const t0 = Date.now();
    await lab.exec(lab.cli, 'ip', ['link', 'set', B.cli, 'down']);
    await new Promise((r) => setTimeout(r, 1000));
    await lab.exec(lab.cli, 'ip', ['link', 'set', B.cli, 'up']);
    await lab.exec(lab.cli, 'ip', ['route', 'replace', 'default', 'via', B.srvAddr]);
    const ms = await trafficBack(t0);
    console.log(`link flap on B (1 s down): traffic again ${ms} ms after the link went down`);
    await reconnectedSince(r0);
    expect(await machineState()).toBe('connected');
  });

  it('follows a new address on B (renumbering)', async () => {
    const r0 = reconnects();
    const t0 = Date.now();
    await lab.exec(lab.cli, 'ip', ['addr', 'add', '10.238.10.7/24', 'dev', B.cli]);
    await lab.exec(lab.cli, 'ip', ['addr', 'del', `${B.cliAddr}/24`, 'dev', B.cli]);
    await lab.exec(lab.cli, 'ip', ['route', 'replace', 'default', 'via', B.srvAddr]);
    const ms = await trafficBack(t0);
    console.log(`new address on B: traffic again after ${ms} ms`);
    await reconnectedSince(r0);
    expect((await cstpSource()).startsWith('10.238.10.7:')).toBe(true);
  });

  it('notices at once that a session died while the agent was frozen longer than DPD', async () => {
    // A sleeping laptop neither runs nor receives: freeze the agent and drop everything on the
    // uplink meanwhile, so nothing the gateway sends waits in the socket at the thaw.
    const r0 = reconnects();
    const table = ['inet', 'roamsleep'];
    await lab.exec(lab.cli, 'nft', ['add', 'table', ...table]);
    for (const [chain, hook, dir] of [
      ['in', 'input', 'iifname'],
      ['out', 'output', 'oifname'],
    ] as const) {
      await lab.exec(lab.cli, 'nft', [
        'add',
        'chain',
        ...table,
        chain,
        `{ type filter hook ${hook} priority 0 ; policy accept ; }`,
      ]);
      await lab.exec(lab.cli, 'nft', ['add', 'rule', ...table, chain, dir, B.cli, 'drop']);
    }
    const frozenMs = DPD * 1500; // between one and two DPD periods: the DPD rule alone would wait
    agent.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, frozenMs));
    const thawed = Date.now();
    agent.child.kill('SIGCONT');
    await lab.exec(lab.cli, 'nft', ['delete', 'table', ...table]);
    const ms = await trafficBack(thawed);
    console.log(`frozen ${frozenMs} ms (DPD ${DPD} s): traffic again ${ms} ms after the thaw`);
    await reconnectedSince(r0);
    expect(agent.stderr()).toMatch(/resumed after \d+ s asleep or frozen/);
    // The DPD rule would declare the session dead only at 2×DPD of silence, DPD/2 after the thaw.
    expect(ms).toBeLessThan(DPD * 500);
  });

  /** resolv.conf as the client namespace's programs see it. */
  const resolvConf = (): Promise<string> => lab.exec(lab.cli, 'cat', ['/etc/resolv.conf']);
  /** Writes resolv.conf in place from inside the namespace, as a DHCP client's hook would. */
  const dhcpWrites = (text: string): Promise<string> =>
    lab.exec(lab.cli, process.execPath, [
      '-e',
      'require("fs").writeFileSync("/etc/resolv.conf", process.argv[1])',
      text,
    ]);
  async function waitFor(what: string, check: () => Promise<boolean>, since: number): Promise<number> {
    const end = since + 10_000;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`${what} not seen\n${agent.stderr().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Date.now() - since;
  }

  it('keeps the tunnel DNS over a DHCP rewrite, and restores the newest physical DNS when TND ends the tunnel', async () => {
    await trafficBack(Date.now());
    expect(await resolvConf()).toContain(`nameserver ${TUNNEL_DNS}`);
    const hotel = 'search hotel.example\nnameserver 10.238.9.53\n';
    let t0 = Date.now();
    await dhcpWrites(hotel);
    const back = await waitFor('tunnel DNS written back', async () => (await resolvConf()).includes(TUNNEL_DNS), t0);
    console.log(`DHCP rewrite of resolv.conf under the tunnel: tunnel DNS back after ${back} ms`);
    expect(agent.stderr()).toMatch(/resolv.conf was rewritten under the tunnel.*"physicalDnsAdopted":true/);
    expect(await machineState()).toBe('connected');
    expect((await agentStatus(s))?.network?.trust).toBe('untrusted');

    // The next lease names the management profile's trusted domain: the machine tunnel goes.
    const trusted = 'search trusted.invalid\nnameserver 10.238.9.53\n';
    t0 = Date.now();
    await dhcpWrites(trusted);
    const off = await waitFor('machine tunnel ended', async () => (await machineState()) !== 'connected', t0);
    await waitFor('resolv.conf restored', async () => (await resolvConf()) === trusted, t0);
    console.log(`trusted DNS written under the tunnel: tunnel ended after ${off} ms`);
    expect((await agentStatus(s))?.network?.trust).toBe('trusted');
    expect(await resolvConf()).toBe(trusted);
  });
});
