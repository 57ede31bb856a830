/**
 * The tray's link to tandemd over the real IPC server on a temporary socket: hello's uid, the
 * watch snapshot and events, the host list, `down` while nothing listens, and back `up` after
 * the agent restarts — retrying on its own with the common backoff.
 */
import { chown } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { DEFAULT_SOCKET, socketFromEnv } from '@tandem/contract';
import { createAgentLink, type AgentLink } from '../src/core/agent-link.js';
import {
  allowNonRootOwner,
  HOSTS,
  idle,
  startScriptedAgent,
  until,
  userTunnel,
  type ScriptedAgent,
} from './scripted-agent.js';

const FAST = { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 };
const uid = process.getuid!();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(): Promise<{ agent: ScriptedAgent; link: AgentLink; states: string[] }> {
  const agent = await startScriptedAgent();
  const link = createAgentLink({
    socketPath: agent.path,
    clientVersion: 'tandem-tray/test',
    reverseHandlers: {},
    allowNonRootOwner,
    policy: FAST,
  });
  const states: string[] = [];
  link.onChange((s) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  cleanups.push(
    () => agent.cleanup(),
    () => link.stop(),
  );
  return { agent, link, states };
}

describe('agent link', () => {
  it('takes the socket from $TANDEM_SOCKET, else the agent default', () => {
    expect(socketFromEnv({ TANDEM_SOCKET: '/tmp/x.sock' })).toBe('/tmp/x.sock');
    expect(socketFromEnv({ TANDEM_SOCKET: '' })).toBe(DEFAULT_SOCKET);
    expect(socketFromEnv({})).toBe('/run/tandem/tandemd.sock');
  });

  it('says hello, remembers the uid, watches state and fetches the hosts', async () => {
    const { agent, link } = await setup();
    link.start();
    await until(() => link.snapshot().state === 'up', 'link up');
    const s = link.snapshot();
    expect(s.uid).toBe(uid);
    expect(s.hosts).toEqual(HOSTS);
    expect(s.defaultHost).toBe('Lab');
    expect(s.status?.user.status.state).toBe('idle');
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    await until(() => link.snapshot().status?.user.status.state === 'connected', 'state event');
    expect((await link.call('stats', {})).sections[0]?.title).toBe('Bytes');
  });

  it('keeps the root-ownership check on unless told otherwise', async () => {
    const agent = await startScriptedAgent();
    cleanups.push(() => agent.cleanup());
    // Not root's socket: the tester's own, or (run as root) handed to nobody.
    if (!allowNonRootOwner) await chown(agent.path, 65534, 65534);
    const link = createAgentLink({ socketPath: agent.path, clientVersion: 't', reverseHandlers: {}, policy: FAST });
    cleanups.push(() => link.stop());
    link.start();
    await until(() => link.snapshot().lastError !== null, 'refusal');
    expect(link.snapshot().state).toBe('down');
    expect(link.snapshot().lastError?.code).toBe(ErrorCodes.IPC_UNTRUSTED_SOCKET);
    expect(agent.calls).toEqual([]);
  });

  it('is down while the agent is away and comes back up after it restarts', async () => {
    const { agent, link, states } = await setup();
    await agent.stop();
    link.start();
    await until(() => link.snapshot().state === 'down', 'down without agent');
    await expect(link.call('status', {})).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED });
    await agent.start();
    await until(() => link.snapshot().state === 'up', 'up after start');
    // An agent restart: the connection closes, the link reports down and reconnects by itself.
    const disconnects: string[] = [];
    link.onDisconnect((r) => disconnects.push(r.code));
    await agent.stop();
    await until(() => link.snapshot().state === 'down', 'down after stop');
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connecting', uid) });
    await agent.start();
    await until(() => link.snapshot().state === 'up', 'up after restart');
    expect(link.snapshot().status?.user.status.state).toBe('connecting');
    expect(disconnects).toEqual([ErrorCodes.IPC_CLOSED]);
    expect(states).toEqual(['down', 'up', 'down', 'up']);
    expect(agent.calls.filter((c) => c.method === 'hosts')).toHaveLength(2);
  });

  it('stops retrying when stopped', async () => {
    const { agent, link } = await setup();
    await agent.stop();
    link.start();
    await until(() => link.snapshot().state === 'down', 'down');
    await link.stop();
    await agent.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(link.snapshot().state).toBe('down');
  });
});
