/**
 * The built tandemd as a Type=notify service (root): NOTIFY_SOCKET points at a python3 datagram
 * listener (test/fixtures/agent/notify-listener.ts) standing in for PID 1. READY=1 comes from the
 * agent's own pid, only once its socket accepts connections (the listener connects the moment
 * READY=1 arrives) and with the machine tunnel decision in STATUS; STATUS follows the machine
 * tunnel; SIGTERM brings STOPPING=1 before the exit; the agent's children (ip monitor) do not
 * have NOTIFY_SOCKET. When systemd is PID 1, the agent also runs as a transient Type=notify
 * unit: `systemd-run` returns only after systemd accepted READY=1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import {
  agentArgs,
  ensureAgentBuilt,
  ROOT,
  scratch,
  startAgent,
  TANDEMD,
  type AgentProcess,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { listenNotify, type NotifyListener } from './fixtures/agent/notify-listener.js';

/** Every descendant pid of `pid` (threads' children included). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    for (const c of list ? list.split(/\s+/).map(Number) : []) out.push(c, ...children(c));
  }
  return out;
}

const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');

/** The host's resolv.conf names a DNS server, so TND sees a network (and mgmt-lab.xml does not trust it). */
const hostHasNetwork = ((): boolean => {
  try {
    return /^\s*(nameserver|search|domain)\s/m.test(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return false;
  }
})();

describe.skipIf(missing('root', 'python3') !== null)(
  titled('tandemd readiness notification (sd_notify)', missing('root', 'python3')),
  () => {
    let s: Scratch;
    let listener: NotifyListener;
    let agent: AgentProcess;

    beforeAll(async () => {
      ensureAgentBuilt();
      s = scratch();
      const mgmt = join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml');
      copyFileSync(join(ROOT, 'test/fixtures/agent/mgmt-lab.xml'), mgmt);
      chmodSync(mgmt, 0o644);
      listener = await listenNotify({ checkSocket: s.socket });
      // Empty machine store: the machine tunnel fails at certificate selection, before any network change.
      agent = await startAgent(s, ['--log-level', 'debug'], { NOTIFY_SOCKET: listener.abstract });
    });

    afterAll(() => {
      agent?.child.kill('SIGKILL');
      listener?.close();
      s?.cleanup();
    });

    it('READY=1 from the agent itself, only once the socket accepts, with the machine tunnel decision', async () => {
      const ready = await listener.next((m) => m.data.split('\n').includes('READY=1'), 20_000);
      expect(ready.accepting, 'the socket accepted a connection when READY=1 arrived').toBe(true);
      expect(ready.pid).toBe(agent.child.pid);
      expect(ready.uid).toBe(0);
      const status = /^STATUS=(.*)$/m.exec(ready.data)?.[1];
      expect(status).toMatch(new RegExp(`^listening on ${s.socket.replace(/\./g, '\\.')}; machine tunnel: `));
      if (hostHasNetwork) expect(status).toMatch(/machine tunnel: \w+ \(untrusted network: /);
      // Exactly one READY=1, and nothing was sent before it.
      expect(listener.messages[0]).toBe(ready);
      // The datagram can arrive before the agent's log line is read from its stderr pipe.
      expect(await agent.logged(/readiness sent to the service manager/)).toMatch(
        /readiness sent to the service manager/,
      );
    });

    it.skipIf(!hostHasNetwork)('STATUS follows the machine tunnel (its failure without a certificate)', async () => {
      const failed = await listener.next((m) => /^STATUS=.*machine tunnel: error \[/m.test(m.data), 20_000);
      expect(failed.data).not.toMatch(/READY=1/);
    });

    it("the agent's children do not have NOTIFY_SOCKET (the agent's own start environment did)", () => {
      const pid = agent.child.pid!;
      expect(environ(pid)).toContain(`NOTIFY_SOCKET=${listener.abstract}`);
      const kids = children(pid);
      expect(kids.length, 'ip monitor runs as a child').toBeGreaterThan(0);
      for (const kid of kids) expect(environ(kid).filter((e) => e.startsWith('NOTIFY_SOCKET='))).toEqual([]);
    });

    it('SIGTERM: STOPPING=1, then exit 0', async () => {
      agent.child.kill('SIGTERM');
      const stopping = await listener.next((m) => m.data.startsWith('STOPPING=1\n'));
      expect(stopping.pid).toBe(agent.child.pid);
      expect(await agent.exited).toBe(0);
      expect(listener.messages.filter((m) => m.data.includes('READY=1'))).toHaveLength(1);
    });
  },
);

/** sd_booted(): systemd is PID 1 (not so in most containers). */
const systemdBooted = existsSync('/run/systemd/system');
const systemdReason = systemdBooted ? missing('root', 'systemd-run', 'systemctl') : 'PID 1 is not systemd';

describe.skipIf(systemdReason !== null)(titled('tandemd as a transient Type=notify unit', systemdReason), () => {
  let s: Scratch;
  const unit = `tandemd-notify-test-${process.pid}`;

  beforeAll(() => {
    ensureAgentBuilt();
    s = scratch();
  });

  afterAll(() => {
    spawnSync('systemctl', ['stop', unit], { stdio: 'ignore', timeout: 30_000 });
    spawnSync('systemctl', ['reset-failed', unit], { stdio: 'ignore', timeout: 10_000 });
    s?.cleanup();
  });

  it('systemd-run returns once systemd accepted READY=1; StatusText has the decision', () => {
    // Without --no-block, systemd-run waits for the start job: for Type=notify that is READY=1.
    execFileSync(
      'systemd-run',
      [
        `--unit=${unit}`,
        '--property=Type=notify',
        '--property=NotifyAccess=main',
        '--property=TimeoutStartSec=60s',
        process.execPath,
        TANDEMD,
        ...agentArgs(s),
      ],
      { stdio: 'pipe', timeout: 90_000 },
    );
    const show = execFileSync('systemctl', ['show', unit, '--property=ActiveState,StatusText'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(show).toMatch(/^ActiveState=active$/m);
    expect(show).toMatch(/^StatusText=listening on .*; machine tunnel: /m);
    expect(existsSync(s.socket)).toBe(true);
  });
});
