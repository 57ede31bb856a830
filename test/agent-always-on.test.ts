/**
 * Always-On fail-closed with tandemd and a real ocserv in network namespaces (full tunnel: the
 * gateway pushes no routes, so everything goes into the tunnel while it is up). A pinger in the
 * client namespace sends to a sink address in the gateway namespace all along, and nftables there
 * counts what arrives from the client's physical address — anything counted went around the
 * tunnel. The sink must count 0 while the gateway is down before the first connect, during the
 * connect, a gateway crash and restart, a longer gateway loss, and an agent SIGKILL with the
 * restarted agent's recovery; then `tandem recover` after another SIGKILL removes the block and
 * the sink sees the pinger (proof that it counts). ConnectFailurePolicy Open lifts the block
 * after a failed connect.
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
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
const SINK = '10.239.77.1';
const CLI_BIN = join(ROOT, 'apps/cli/bin/tandem.js');

describe.skipIf(skip !== null)(titled('tandemd Always-On: nothing leaks around the tunnel', skip), () => {
  const lab = new NetnsLab('aon', [239, 9]);
  let pki: Lab;
  let gw: Ocserv | null = null;
  let s: Scratch;
  const sink = new Sink(lab, SINK);

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    await sink.create();
    pki = await standardLab('aon');
    s = scratch();
    installMachineIdentity(s, pki);
    profile('Closed');
    // The pinger runs for the whole suite; only what the counter sees between resets matters.
    lab.spawn(lab.cli, 'ping', ['-i', '0.05', '-W', '1', SINK]);
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await lab.destroy();
    s?.cleanup();
  });

  function profile(policy: 'Open' | 'Closed'): void {
    const text = readFileSync(join(ROOT, 'test/fixtures/agent/user-always-on.xml'), 'utf8').replace(
      /<ConnectFailurePolicy>Closed/,
      `<ConnectFailurePolicy>${policy}`,
    );
    writeFileSync(join(s.profiles, 'user.xml'), text, { mode: 0o644 });
    chmodSync(join(s.profiles, 'user.xml'), 0o644);
  }

  const startGateway = async (): Promise<void> => {
    gw = await startOcserv(lab, pki, { pool: '10.239.100.0/24', device: 'aonv', dpd: 3, keepalive: 10 });
  };

  const blockTable = async (): Promise<boolean> =>
    (await lab.exec(lab.cli, 'nft', ['list', 'tables'])).includes('tandem_failclosed');

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const tunnelPing = () => lab.exec(lab.cli, 'ping', ['-c1', '-W1', SINK]);

  it('Closed: 0 packets around the tunnel through connect, gateway crash, gateway loss, agent SIGKILL and restart', async () => {
    let agent: NetnsAgent = startNetnsAgent(lab, s, pki);
    try {
      // The gateway is down: the block must stand before anything connects.
      await until(() => agent.stderr().includes('Always-On block in place'), 15_000);
      expect(await blockTable()).toBe(true);
      await sink.reset();
      await sleep(1500);
      expect(await sink.count()).toBe(0);

      await startGateway(); // connect
      await waitMachineConnected(s, agent);
      await tunnelPing(); // through the tunnel: not counted
      expect(await sink.count()).toBe(0);

      await gw!.stop('SIGKILL'); // gateway crash and restart
      await sleep(1000);
      await startGateway();
      await sleep(500);
      await waitMachineConnected(s, agent);
      await tunnelPing();
      expect(await sink.count()).toBe(0);

      await gw!.stop('SIGKILL'); // gateway loss longer than DPD
      await sleep(8000);
      expect(await sink.count()).toBe(0);
      await startGateway();
      await waitMachineConnected(s, agent);
      expect(await sink.count()).toBe(0);

      agent.child.kill('SIGKILL'); // the block outlives the agent
      await agent.exited;
      expect(await blockTable()).toBe(true);
      await sleep(1500);
      agent = startNetnsAgent(lab, s, pki); // recovery restores the original routes while the block stands
      await waitMachineConnected(s, agent);
      await tunnelPing();
      expect(agent.stderr()).toMatch(/restored routes and DNS of a dead session/);
      expect(await sink.count()).toBe(0);

      agent.child.kill('SIGTERM'); // an orderly restart (package upgrade): no gap either
      expect(await agent.exited).toBe(0);
      expect(await blockTable()).toBe(true);
      await sleep(1000);
      agent = startNetnsAgent(lab, s, pki);
      await waitMachineConnected(s, agent);
      await tunnelPing();
      expect(await sink.count()).toBe(0);

      agent.child.kill('SIGKILL');
      await agent.exited;
      const journalDir = join(s.state, 'netjournal');
      const recover = spawn('ip', [
        'netns',
        'exec',
        lab.cli,
        process.execPath,
        CLI_BIN,
        'recover',
        '--journal-dir',
        journalDir,
        '--json',
      ]);
      let out = '';
      recover.stdout.on('data', (d: Buffer) => (out += d.toString()));
      expect(await new Promise((r) => recover.on('exit', r))).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ failClosedRemoved: true });
      expect(await blockTable()).toBe(false);
      // Proof the sink counts: with the block gone and the routes back, the pinger reaches it.
      await sleep(1000);
      expect(await sink.count()).toBeGreaterThan(5);
    } finally {
      if (agent.child.exitCode === null && agent.child.signalCode === null) {
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    }
  }, 120_000);

  it('Open: the block goes after a failed connect; SIGTERM leaves no table', async () => {
    await gw?.stop('SIGKILL');
    gw = null;
    profile('Open');
    const agent = startNetnsAgent(lab, s, pki);
    try {
      await until(() => agent.stderr().includes('Always-On block in place'), 15_000);
      // The machine tunnel fails to connect (the gateway is down): Open lifts the block.
      await until(() => agent.stderr().includes('Always-On block removed'), 30_000);
      expect(await blockTable()).toBe(false);
      await sink.reset();
      await sleep(1000);
      expect(await sink.count()).toBeGreaterThan(5);
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
    expect(await blockTable()).toBe(false);
  }, 60_000);
});
