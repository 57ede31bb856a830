/**
 * The machine tunnel switch survives an agent restart: an in-process agent (no data plane, so
 * a machine tunnel that starts fails at once — it leaves `idle` for `error` and stays there
 * during the restart back-off — and nothing touches the network) on a real socket and a
 * scratch settings directory. Disabled, stopped,
 * started again: still disabled, and the machine tunnel never attempted; enabled, restarted:
 * it starts by itself. A hostile settings file at start is logged with E_STATE_FILE and the
 * profiles' default applies. Root: profiles are read in agent mode (root-owned).
 */
import { chmodSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectIpc, type IpcClient } from '@tandem/ipc/client';
import { Agent } from '../apps/agent/src/agent.js';
import { createAgentLogging, type AgentLogging } from '../apps/agent/src/logging.js';
import { parseOptions } from '../apps/agent/src/options.js';
import { SETTINGS_FILE } from '../apps/agent/src/settings.js';
import { isRoot, missing, titled } from '@tandem/testkit';
import { agentArgs, ROOT, scratch, type Scratch } from './fixtures/agent/helpers.js';

interface Running {
  agent: Agent;
  logging: AgentLogging;
  client: IpcClient;
}

/** Log text of one run (records already redacted). */
const logText = (r: Running): string =>
  r.logging.ring
    .records()
    .map((rec) => `${rec.msg} ${JSON.stringify(rec.fields ?? {})}`)
    .join('\n');

async function machineState(r: Running): Promise<string> {
  return (await r.client.call('status', {})).machine.status.state;
}

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe.skipIf(!isRoot)(titled('machine tunnel switch across agent restarts', missing('root')), () => {
  let s: Scratch;
  let resolv: string;
  let current: Running | null = null;

  async function boot(): Promise<Running> {
    const logging = createAgentLogging({
      level: 'debug',
      format: 'json',
      stream: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    const options = parseOptions([...agentArgs(s), '--log-level', 'debug'], {});
    const agent = await Agent.start({
      options,
      logging,
      scrub: { removed: [], nodeOptionsApplied: false },
      runner: null,
      resolvConf: resolv,
    });
    const client = await connectIpc({ socketPath: s.socket, clientVersion: 'persist-test' });
    current = { agent, logging, client };
    return current;
  }

  async function shutdown(): Promise<void> {
    if (!current) return;
    current.client.close();
    await current.agent.stop();
    current = null;
  }

  beforeAll(() => {
    s = scratch({ 'second.xml': 'test/fixtures/agent/second.xml' });
    const mgmt = join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml');
    copyFileSync(join(ROOT, 'test/fixtures/agent/mgmt-canary.xml'), mgmt);
    chmodSync(mgmt, 0o644);
    // Not the profile's trusted domain: the supervisor wants the machine tunnel up.
    resolv = join(s.dir, 'resolv.conf');
    writeFileSync(resolv, 'search untrusted.example\nnameserver 192.0.2.1\n');
  });
  afterEach(shutdown);
  afterAll(() => s?.cleanup());

  it('disable, restart: still disabled and never attempted; enable, restart: it starts by itself', async () => {
    let run = await boot();
    // Control: with nothing saved the profile's default applies and the machine tunnel is attempted.
    await waitFor(async () => (await machineState(run)) !== 'idle');
    const off = await run.client.call('machineTunnel.disable', {});
    // (The failed attempt's `error` state stays as the last word of that run.)
    expect(off).toMatchObject({ enabled: false, setBy: { uid: 0 } });
    await shutdown();
    const file = join(s.settings, SETTINGS_FILE);
    expect(statSync(s.settings).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      machineTunnel: { enabled: false, uid: 0, at: off.setBy!.at },
    });

    run = await boot();
    expect(await run.client.call('machineTunnel.status', {})).toMatchObject({
      enabled: false,
      setBy: { uid: 0, at: off.setBy!.at },
      tunnel: { status: { state: 'idle' } },
    });
    // Longer than the control needed to attempt the tunnel; it must stay down the whole time.
    for (let i = 0; i < 20; i++) {
      expect(await machineState(run)).toBe('idle');
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(logText(run)).toContain('machine tunnel disabled by an administrator');

    const on = await run.client.call('machineTunnel.enable', {});
    expect(on).toMatchObject({ enabled: true, setBy: { uid: 0 } });
    await waitFor(async () => (await machineState(run)) !== 'idle');
    await shutdown();

    run = await boot();
    expect(await run.client.call('machineTunnel.status', {})).toMatchObject({
      enabled: true,
      setBy: { uid: 0, at: on.setBy!.at },
    });
    await waitFor(async () => (await machineState(run)) !== 'idle');
  });

  it('a hostile settings file at start: E_STATE_FILE logged, the agent runs, the profile default applies', async () => {
    const file = join(s.settings, SETTINGS_FILE);
    writeFileSync(
      file,
      JSON.stringify({ version: 1, machineTunnel: { enabled: false, uid: 0, at: '2026-03-01T08:00:00.000Z' } }),
    );
    chmodSync(file, 0o666);
    const run = await boot();
    expect(logText(run)).toMatch(
      /saved settings ignored; the machine tunnel follows the profiles .*"code":"E_STATE_FILE".*group\/world writable/,
    );
    const status = await run.client.call('machineTunnel.status', {});
    expect(status.enabled).toBe(true);
    expect(status.setBy).toBeUndefined();
    await waitFor(async () => (await machineState(run)) !== 'idle');
    // The next switch replaces the untrusted file with a good one.
    await run.client.call('machineTunnel.disable', {});
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
