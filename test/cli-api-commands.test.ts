/**
 * The built `tandem` binary against a fake engine behind the real IPC server: status, hosts,
 * stats (human and JSON), watch (snapshot first, then a change), disconnect, machine-tunnel
 * as root and as uid 65534, and the failures a user meets first (agent not running, a socket
 * not owned by root).
 */
import { chown, mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, missing, titled } from '@tandem/testkit';
import { ensureCliBuilt, FakeAgent, runCli, SWITCHED_AT, until } from './fixtures/cli/fake-agent.js';

let agent: FakeAgent;
beforeAll(async () => {
  ensureCliBuilt();
  agent = await FakeAgent.start();
}, 120_000);
afterAll(async () => agent?.stop());

/** Runs the CLI against the fake agent; as root the socket is root-owned, else the dev flag is needed. */
function tandem(args: string[], opts: Parameters<typeof runCli>[1] = {}) {
  return runCli([...args, '--socket', agent.socketPath, ...(isRoot ? [] : ['--allow-non-root-agent'])], opts).done;
}

describe('tandem status / hosts / stats', () => {
  it('status: both tunnels, human and JSON', async () => {
    const human = await tandem(['status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      'Machine tunnel: connected to mgmt.lab.test since 2026-03-01T08:00:00.000Z (10.99.0.5)',
    );
    expect(human.stdout).toContain('User tunnel: disconnected');
    expect(human.stdout).toContain('Management Connection State: Connected');
    const json = await tandem(['status', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      machine: { tunnel: 'machine', status: { state: 'connected', gateway: 'mgmt.lab.test' } },
      user: { status: { state: 'idle' } },
      machineTunnelEnabled: true,
      managementConnectionState: 'Connected',
    });
  });

  it('hosts: the profile server list with the default marked', async () => {
    const human = await tandem(['hosts']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('* Lab VPN     vpn.lab.test  (group mca, from user-mca.xml)');
    expect(human.stdout).toContain('  Lab Banner  banner.lab.test');
    const json = JSON.parse((await tandem(['hosts', '--json'])).stdout) as { hosts: unknown[]; defaultHost: string };
    expect(json.hosts).toHaveLength(2);
    expect(json.defaultHost).toBe('Lab VPN');
  });

  it('stats: vpncli sections, Not Available for empty values, management state added', async () => {
    const human = await tandem(['stats']);
    expect(human.code).toBe(0);
    for (const title of ['[ Connection Information ]', '[ Address Information ]', '[ Bytes ]', '[ Frames ]'])
      expect(human.stdout).toContain(title);
    expect(human.stdout).toMatch(/Client Address \(IPv6\):\s+Not Available/);
    expect(human.stdout).toMatch(/Management Connection State:\s+Connected/);
    const json = JSON.parse((await tandem(['stats', '--json'])).stdout) as {
      sections: Array<{ title: string; entries: Array<{ name: string; value: string }> }>;
    };
    expect(json.sections.map((s) => s.title)).toEqual([
      'Connection Information',
      'Address Information',
      'Bytes',
      'Frames',
    ]);
    expect(json.sections[0]!.entries).toContainEqual({ name: 'Management Connection State', value: 'Connected' });
  });
});

describe('tandem watch', () => {
  it('prints the snapshot first, then each change (JSON lines and human)', async () => {
    const suffix = ['--socket', agent.socketPath, ...(isRoot ? [] : ['--allow-non-root-agent'])];
    const json = runCli(['watch', '--json', ...suffix]);
    await until(() => json.stdout().includes('\n'));
    const human = runCli(['watch', ...suffix]);
    await until(() => human.stdout().includes('Management Connection State'));
    agent.set({
      tunnel: 'machine',
      status: {
        state: 'reconnecting',
        gateway: 'mgmt.lab.test',
        since: '2026-03-01T09:00:00.000Z',
        attempt: 2,
        cause: { code: 'E_GATEWAY_TIMEOUT', message: 'no answer' },
      },
    });
    await until(() => json.stdout().split('\n').length >= 3 && human.stdout().includes('reconnecting'));
    json.kill('SIGINT');
    human.kill('SIGINT');
    const [j, h] = await Promise.all([json.done, human.done]);
    expect(j.code).toBe(0);
    const lines = j.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; seq?: number; status: { machine: { status: { state: string } } } });
    expect(lines[0]).toMatchObject({ event: 'snapshot', status: { machine: { status: { state: 'connected' } } } });
    expect(lines[1]).toMatchObject({ event: 'state', status: { machine: { status: { state: 'reconnecting' } } } });
    expect(typeof lines[1]!.seq).toBe('number');
    expect(h.code).toBe(0);
    expect(h.stdout.indexOf('Machine tunnel: connected')).toBeLessThan(
      h.stdout.indexOf('Machine tunnel: reconnecting'),
    );
    expect(h.stdout).toContain('(attempt 2, last error E_GATEWAY_TIMEOUT: no answer)');
    agent.set({
      tunnel: 'machine',
      status: {
        state: 'connected',
        gateway: 'mgmt.lab.test',
        since: '2026-03-01T08:00:00.000Z',
        addresses: { ipv4: '10.99.0.5', dns: [], searchDomains: [] },
        bytesIn: 4096,
        bytesOut: 2048,
        dtls: false,
      },
    });
  });
});

describe('tandem machine-tunnel and disconnect', () => {
  it('status/disable/enable as root (admin); management state follows', async () => {
    // A fresh agent: nobody switched it, so no "by an administrator".
    expect((await tandem(['machine-tunnel', 'status'])).stdout).toMatch(/^Machine tunnel enabled\n/);
    const off = await tandem(['machine-tunnel', 'disable', '--json']);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ enabled: false, tunnel: { status: { state: 'idle' } } });
    expect(JSON.parse(off.stdout)).toMatchObject({ setBy: { uid: process.getuid!(), at: SWITCHED_AT } });
    const status = (await tandem(['status'])).stdout;
    expect(status).toContain(
      `Management Connection State: Disconnected (disabled)\nMachine tunnel disabled by an administrator (uid ${process.getuid!()}) at ${SWITCHED_AT}\n`,
    );
    expect(JSON.parse((await tandem(['status', '--json'])).stdout)).toMatchObject({
      machineTunnelEnabled: false,
      machineTunnelSetBy: { uid: process.getuid!(), at: SWITCHED_AT },
    });
    expect((await tandem(['machine-tunnel', 'status'])).stdout).toContain(
      `Machine tunnel disabled by an administrator (uid ${process.getuid!()}) at ${SWITCHED_AT}\nMachine tunnel: disconnected`,
    );
    const on = await tandem(['machine-tunnel', 'enable']);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(
      `Machine tunnel enabled by an administrator (uid ${process.getuid!()}) at ${SWITCHED_AT}\nMachine tunnel: connected to mgmt.lab.test`,
    );
  });

  it('disconnect reports the user tunnel', async () => {
    const r = await tandem(['disconnect', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tunnel: { tunnel: 'user', status: { state: 'idle' } } });
  });
});

describe(titled('tandem as an unprivileged user (uid 65534)', missing('root')), () => {
  it.skipIf(!isRoot)('may read status but machine-tunnel enable is refused with E_PERMISSION', async () => {
    const nobody = { uid: 65534, gid: 65534, env: { HOME: '/nonexistent' } };
    const status = await tandem(['status'], nobody);
    expect(status.code).toBe(0);
    const before = agent.calls.filter((c) => c.method === 'machineTunnel.enable').length;
    const human = await tandem(['machine-tunnel', 'enable'], nobody);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe(
      'tandem machine-tunnel enable: permission denied: machine-tunnel enable needs an administrator\n',
    );
    const json = await tandem(['machine-tunnel', 'enable', '--json'], nobody);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'E_PERMISSION' } });
    // Refused by the IPC layer: the handler never ran.
    expect(agent.calls.filter((c) => c.method === 'machineTunnel.enable').length).toBe(before);
  });
});

describe('when the agent cannot be trusted or reached', () => {
  it('agent not running: clear message, exit 1, stable code in JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-none-'));
    try {
      const path = join(dir, 'tandemd.sock');
      const r = await runCli(['status', '--socket', path]).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`tandem status: tandemd is not running (no socket at ${path})\n`);
      const viaEnv = await runCli(['hosts', '--json'], { env: { TANDEM_SOCKET: path } }).done;
      expect(viaEnv.code).toBe(1);
      expect(JSON.parse(viaEnv.stdout)).toEqual({
        error: { code: 'E_IPC_CLOSED', message: `tandemd is not running (no socket at ${path})` },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot)('a socket not owned by root is refused (unless --allow-non-root-agent)', async () => {
    const impostor = await FakeAgent.start();
    try {
      await chown(impostor.socketPath, 65534, 65534);
      await chmod(impostor.socketPath, 0o666);
      const r = await runCli(['status', '--json', '--socket', impostor.socketPath]).done;
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_IPC_UNTRUSTED_SOCKET' } });
      expect(impostor.calls).toEqual([]);
      const dev = await runCli(['status', '--socket', impostor.socketPath, '--allow-non-root-agent']).done;
      expect(dev.code).toBe(0);
    } finally {
      await impostor.stop();
    }
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['status', 'extra']).done).code).toBe(2);
    expect((await runCli(['connect', 'a', 'b']).done).code).toBe(2);
  });
});
