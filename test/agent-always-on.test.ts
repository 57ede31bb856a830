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
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import {
  agentArgs,
  ensureAgentBuilt,
  ROOT,
  runClient,
  scratch,
  TANDEMD,
  until,
  type Scratch,
} from './fixtures/agent/helpers.js';

const skip = missing('netns', 'ocserv', 'ping', 'nft');
const SINK = '10.239.77.1';
const CLI_BIN = join(ROOT, 'apps/cli/bin/tandem.js');

describe.skipIf(skip !== null)(titled('tandemd Always-On: nothing leaks around the tunnel', skip), () => {
  const lab = new NetnsLab('aon', [239, 9]);
  let pki: Lab;
  let gw: Ocserv | null = null;
  let s: Scratch;

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${SINK}/32`, 'dev', 'lo']);
    await lab.exec(lab.srv, 'nft', ['add', 'table', 'inet', 'sink']);
    await lab.exec(lab.srv, 'nft', [
      'add',
      'chain',
      'inet',
      'sink',
      'in',
      '{ type filter hook input priority 0 ; policy accept ; }',
    ]);
    await lab.exec(lab.srv, 'nft', [
      'add',
      'rule',
      'inet',
      'sink',
      'in',
      'ip',
      'saddr',
      lab.cliAddr,
      'ip',
      'daddr',
      SINK,
      'counter',
    ]);
    pki = await standardLab('aon');
    s = scratch();
    const mgmt = join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml');
    copyFileSync(join(ROOT, 'test/fixtures/agent/mgmt-lab.xml'), mgmt);
    chmodSync(mgmt, 0o644);
    profile('Closed');
    writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
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

  function startAgent() {
    const child = lab.spawn(lab.cli, process.execPath, [
      TANDEMD,
      ...agentArgs(s),
      '--gateway-ca',
      pki.caFile,
      '--resolve',
      `vpn.lab.test:${lab.srvAddr}`,
      '--log-level',
      'debug',
    ]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
    return { child, stderr: () => err, exited };
  }

  /** Packets from the client's physical address that reached the sink since the last reset. */
  async function leaked(): Promise<number> {
    const rule = await lab.exec(lab.srv, 'nft', ['list', 'chain', 'inet', 'sink', 'in']);
    return Number(/counter packets (\d+)/.exec(rule)?.[1] ?? 'NaN');
  }

  async function resetSink(): Promise<void> {
    await lab.exec(lab.srv, 'nft', ['flush', 'chain', 'inet', 'sink', 'in']);
    await lab.exec(lab.srv, 'nft', [
      'add',
      'rule',
      'inet',
      'sink',
      'in',
      'ip',
      'saddr',
      lab.cliAddr,
      'ip',
      'daddr',
      SINK,
      'counter',
    ]);
  }

  const blockTable = async (): Promise<boolean> =>
    (await lab.exec(lab.cli, 'nft', ['list', 'tables'])).includes('tandem_failclosed');

  async function machineState(): Promise<string | null> {
    const r = await runClient(s.socket, { calls: [['status', {}]] }).catch(() => null);
    const st = r?.results[0]?.result as { machine: { status: { state: string } } } | undefined;
    return st?.machine.status.state ?? null;
  }

  async function waitConnected(agent: { stderr(): string }, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while ((await machineState()) !== 'connected') {
      if (Date.now() > end) throw new Error(`machine tunnel not connected\n${agent.stderr().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const tunnelPing = () => lab.exec(lab.cli, 'ping', ['-c1', '-W1', SINK]);

  it('Closed: 0 packets around the tunnel through connect, gateway crash, gateway loss and agent SIGKILL', async () => {
    let agent = startAgent();
    try {
      // The gateway is down: the block must stand before anything connects.
      await until(() => agent.stderr().includes('Always-On block in place'), 15_000);
      expect(await blockTable()).toBe(true);
      await resetSink();
      await sleep(1500);
      expect(await leaked()).toBe(0);

      await startGateway(); // connect
      await waitConnected(agent);
      await tunnelPing(); // through the tunnel: not counted
      expect(await leaked()).toBe(0);

      await gw!.stop('SIGKILL'); // gateway crash and restart
      await sleep(1000);
      await startGateway();
      await sleep(500);
      await waitConnected(agent);
      await tunnelPing();
      expect(await leaked()).toBe(0);

      await gw!.stop('SIGKILL'); // gateway loss longer than DPD
      await sleep(8000);
      expect(await leaked()).toBe(0);
      await startGateway();
      await waitConnected(agent);
      expect(await leaked()).toBe(0);

      agent.child.kill('SIGKILL'); // the block outlives the agent
      await agent.exited;
      expect(await blockTable()).toBe(true);
      await sleep(1500);
      agent = startAgent(); // recovery restores the original routes while the block stands
      await waitConnected(agent);
      await tunnelPing();
      expect(agent.stderr()).toMatch(/restored routes and DNS of a dead session/);
      expect(await leaked()).toBe(0);

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
      expect(await leaked()).toBeGreaterThan(5);
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
    const agent = startAgent();
    try {
      await until(() => agent.stderr().includes('Always-On block in place'), 15_000);
      // The machine tunnel fails to connect (the gateway is down): Open lifts the block.
      await until(() => agent.stderr().includes('Always-On block removed'), 30_000);
      expect(await blockTable()).toBe(false);
      await resetSink();
      await sleep(1000);
      expect(await leaked()).toBeGreaterThan(5);
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
    expect(await blockTable()).toBe(false);
  }, 60_000);
});
