/**
 * Always-On with a split-include tunnel, tandemd and a real ocserv in network namespaces. The
 * gateway routes 10.243.78.0/24 into the tunnel (`route`) but keeps 10.243.78.128/25 outside it
 * (`no-route`); the user profile's AllowedHosts names a host (resolved through `--resolve`) and a
 * CIDR range. Sinks in the gateway's namespace count what arrives from the client's physical
 * address, i.e. around the tunnel:
 *  - before any tunnel: AllowedHosts answer, a destination outside the tunnel's networks does not;
 *  - connected: the included destination goes through the tunnel (counted 0), the outside one and
 *    the excluded one reach their sinks over the physical uplink;
 *  - after an agent SIGKILL (the TUN is gone, the block stays): 0 packets to the included
 *    destination leave, outside and excluded destinations and AllowedHosts still pass;
 *  - with the block deleted by hand, the included destination's sink counts (proof it counts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { ensureAgentBuilt, ROOT, scratch, until, type Scratch } from './fixtures/agent/helpers.js';
import {
  installMachineIdentity,
  Sink,
  startNetnsAgent,
  waitMachineConnected,
  type NetnsAgent,
} from './fixtures/agent/netns-agent.js';

const skip = missing('netns', 'ocserv', 'ping', 'nft');
const INCLUDED = '10.243.78.1';
const EXCLUDED = '10.243.78.129';
const OUTSIDE = '10.243.79.1';
const ALLOWED_NAME = '10.243.80.1';
const ALLOWED_RANGE = '10.243.81.1';

describe.skipIf(skip !== null)(titled('tandemd Always-On with a split-include tunnel', skip), () => {
  const lab = new NetnsLab('aos', [243, 9]);
  const sinks = {
    included: new Sink(lab, INCLUDED, 'included'),
    excluded: new Sink(lab, EXCLUDED, 'excluded'),
    outside: new Sink(lab, OUTSIDE, 'outside'),
    allowed: new Sink(lab, ALLOWED_NAME, 'allowed'),
    range: new Sink(lab, ALLOWED_RANGE, 'range'),
  };
  let pki: Lab;
  let gw: Ocserv | null = null;
  let s: Scratch;
  let agent: NetnsAgent | null = null;

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    for (const sink of Object.values(sinks)) await sink.create();
    pki = await standardLab('aos');
    s = scratch();
    installMachineIdentity(s, pki);
    const profile = readFileSync(join(ROOT, 'test/fixtures/agent/user-always-on.xml'), 'utf8').replace(
      '</ConnectFailurePolicy>',
      '</ConnectFailurePolicy>\n<AllowedHosts>allowed.lab.test, 10.243.81.0/24</AllowedHosts>',
    );
    writeFileSync(join(s.profiles, 'user.xml'), profile, { mode: 0o644 });
  }, 90_000);

  afterAll(async () => {
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await gw?.stop();
    await lab.destroy();
    s?.cleanup();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Whether one ping from the client gets an answer. */
  const answers = (address: string): Promise<boolean> =>
    lab.exec(lab.cli, 'ping', ['-c1', '-W1', address]).then(
      () => true,
      () => false,
    );
  const resetAll = () => Promise.all(Object.values(sinks).map((sink) => sink.reset()));

  it('outside the include set passes, the include set only through the tunnel, also after an agent SIGKILL', async () => {
    agent = startNetnsAgent(lab, s, pki, [`allowed.lab.test:${ALLOWED_NAME}`]);
    await until(() => agent!.stderr().includes('Always-On block in place'), 15_000);
    // Blocked, no tunnel: AllowedHosts only (by name and by range).
    await resetAll();
    expect(await answers(ALLOWED_NAME)).toBe(true);
    expect(await answers(ALLOWED_RANGE)).toBe(true);
    expect(await answers(OUTSIDE)).toBe(false);
    expect(await sinks.outside.count()).toBe(0);

    gw = await startOcserv(lab, pki, {
      pool: '10.243.100.0/24',
      device: 'aosv',
      dpd: 3,
      keepalive: 10,
      routes: ['10.243.78.0/255.255.255.0'],
      extra: ['no-route = 10.243.78.128/255.255.255.128'],
    });
    await waitMachineConnected(s, agent);
    await resetAll();
    expect(await answers(INCLUDED)).toBe(true);
    expect(await sinks.included.count()).toBe(0); // through the tunnel
    expect(await answers(OUTSIDE)).toBe(true);
    expect(await sinks.outside.count()).toBe(1); // over the physical uplink
    expect(await answers(EXCLUDED)).toBe(true);
    expect(await sinks.excluded.count()).toBe(1);

    agent.child.kill('SIGKILL');
    await agent.exited;
    expect(await lab.exec(lab.cli, 'ip', ['-o', 'link'])).not.toContain('tandem'); // the TUN died with it
    await resetAll();
    const pinger = lab.spawn(lab.cli, 'ping', ['-i', '0.05', '-W', '1', INCLUDED]);
    expect(await answers(OUTSIDE)).toBe(true);
    expect(await answers(EXCLUDED)).toBe(true);
    expect(await answers(ALLOWED_NAME)).toBe(true);
    await sleep(1000);
    pinger.kill('SIGKILL');
    expect(await sinks.included.count()).toBe(0);
    expect(await sinks.outside.count()).toBe(1);

    // The counter counts: without the block the included destination's packets go around.
    await lab.exec(lab.cli, 'nft', ['delete', 'table', 'inet', 'tandem_failclosed']);
    expect(await answers(INCLUDED)).toBe(true);
    expect(await sinks.included.count()).toBeGreaterThan(0);
  }, 60_000);
});
