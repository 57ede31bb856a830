/**
 * The pure parts of the CLI's API commands: how a connect attempt is decided from snapshots in
 * any order, the management connection state strings of `vpncli stats`, the vpncli
 * stats layout, terminal sanitising of agent-supplied text, and the socket path precedence.
 */
import { describe, expect, it } from 'vitest';
import type { StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import { AttemptTracker, type Outcome } from '../src/api/connect-wait.js';
import { managementState } from '../src/api/format.js';
import { statsText } from '@tandem/contract';
import { withManagementState } from '../src/api/stats.js';
import { parseSince } from '../src/api/diag-bundle.js';
import { UsageError, type CliIo } from '../src/io.js';
import { reportError } from '../src/api/errors.js';
import { ErrorCodes, TandemError } from '@tandem/common';
import { printable } from '../src/api/terminal.js';
import { DEFAULT_SOCKET } from '@tandem/contract';
import { socketPathFrom } from '../src/api/agent.js';
import { connectParams } from '../src/api/connect.js';

const T = '2026-03-01T08:00:00.000Z';
const idle: TunnelSnapshot = { tunnel: 'user', status: { state: 'idle' } };
const oldError: TunnelSnapshot = {
  tunnel: 'user',
  status: { state: 'error', since: T, cause: { code: 'E_AUTH_REJECTED', message: 'old' } },
};
const connecting: TunnelSnapshot = { tunnel: 'user', status: { state: 'connecting', gateway: 'gw', since: T } };
const connected: TunnelSnapshot = {
  tunnel: 'user',
  status: {
    state: 'connected',
    gateway: 'gw',
    since: T,
    addresses: { dns: [], searchDomains: [] },
    bytesIn: 0,
    bytesOut: 0,
    dtls: false,
  },
};
const newError: TunnelSnapshot = {
  tunnel: 'user',
  status: { state: 'error', since: '2026-03-01T08:00:05.000Z', cause: { code: 'E_CERT_NOT_FOUND', message: 'none' } },
};

async function decide(
  before: TunnelSnapshot,
  feed: Array<[TunnelSnapshot, boolean?]>,
): Promise<Outcome['kind'] | 'pending'> {
  const t = new AttemptTracker(before, () => undefined);
  for (const [snap, reply] of feed) t.observe(snap, reply);
  return Promise.race([
    t.outcome.then((o) => o.kind),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), 10)),
  ]);
}

describe('AttemptTracker', () => {
  it('the state from before the request never decides (a repeated old error, an idle before the engine started)', async () => {
    expect(await decide(oldError, [[oldError], [oldError, true]])).toBe('pending');
    expect(await decide(idle, [[idle], [idle, true]])).toBe('pending');
  });
  it('idle fails only after the attempt was under way; first connected/error wins', async () => {
    expect(await decide(idle, [[connecting], [idle]])).toBe('failed');
    expect(await decide(oldError, [[connecting], [connected], [newError]])).toBe('connected');
    expect(await decide(idle, [[connecting], [newError], [connected]])).toBe('failed');
  });
  it('the reply arriving after newer events does not matter; an already-connected tunnel in the reply succeeds', async () => {
    expect(await decide(idle, [[connecting], [connected], [connecting, true]])).toBe('connected');
    expect(await decide(connected, [[connected, true]])).toBe('connected');
  });
});

describe('management connection state', () => {
  const snap = (
    machine: TunnelSnapshot['status'],
    user: TunnelSnapshot['status'] = { state: 'idle' },
  ): StatusSnapshot => ({ machine: { tunnel: 'machine', status: machine }, user: { tunnel: 'user', status: user } });
  it('uses the observed vpncli strings', () => {
    expect(managementState(snap({ state: 'idle' }, connected.status))).toBe('Disconnected (user tunnel active)');
    expect(managementState(snap({ state: 'idle' }), false)).toBe('Disconnected (disabled)');
    expect(managementState(snap({ state: 'idle' }), true)).toBe('Disconnected');
    expect(managementState(snap({ ...connected.status }))).toBe('Connected');
    expect(managementState(snap({ state: 'error', since: T, cause: { code: 'E_TUN', message: 'x' } }))).toBe(
      'Disconnected (error: E_TUN)',
    );
  });
});

describe('stats layout', () => {
  it('adds the management state once and prints Not Available for empty values', () => {
    const sections = withManagementState(
      [{ title: 'Bytes', entries: [{ name: 'Bytes Sent', value: '' }] }],
      'Connected',
    );
    expect(sections[0]).toEqual({
      title: 'Connection Information',
      entries: [{ name: 'Management Connection State', value: 'Connected' }],
    });
    expect(withManagementState(sections, 'Other')).toBe(sections);
    expect(statsText(sections)).toBe(
      '[ Connection Information ]\n\n    Management Connection State:  Connected\n\n[ Bytes ]\n\n    Bytes Sent:  Not Available\n\n',
    );
  });
});

describe('small helpers', () => {
  it('printable strips escape sequences and control characters from agent text', () => {
    expect(printable('Welcome\x1b[2J\x1b[31m red\x07\nnext')).toBe('Welcome red\nnext');
  });
  it('socket path: --socket, then TANDEM_SOCKET, then the default', () => {
    expect(socketPathFrom({ socket: '/a.sock' }, { TANDEM_SOCKET: '/b.sock' })).toBe('/a.sock');
    expect(socketPathFrom({}, { TANDEM_SOCKET: '/b.sock' })).toBe('/b.sock');
    expect(socketPathFrom({}, {})).toBe(DEFAULT_SOCKET);
  });
  it('connect target: a profile host name or an https URL', () => {
    expect(connectParams(undefined)).toEqual({});
    expect(connectParams('Lab VPN')).toEqual({ host: 'Lab VPN' });
    expect(connectParams('https://vpn.example.com/mca')).toEqual({ url: 'https://vpn.example.com/mca' });
  });
});

describe('tandem diag bundle --since', () => {
  it('takes 1m to 30d in s, m, h or d and refuses anything else with a usage error', () => {
    expect(parseSince('30m')).toBe(1800);
    expect(parseSince('72h')).toBe(259_200);
    expect(parseSince('3d')).toBe(259_200);
    expect(parseSince('60s')).toBe(60);
    expect(parseSince('30d')).toBe(2_592_000);
    for (const bad of ['59s', '31d', '12', 'h', '1.5h', '-3h', '3 days', ''])
      expect(() => parseSince(bad), bad).toThrow(UsageError);
  });
});

describe('reportError', () => {
  const io = () => {
    const err: string[] = [];
    return { err, io: { out: () => {}, err: (s: string) => err.push(s) } as unknown as CliIo };
  };
  it('a refusal by policy says why; another permission refusal names the administrator', () => {
    const policy = io();
    const refusal = new TandemError(ErrorCodes.PERMISSION, 'AllowVPNDisconnect is false', {
      details: { reason: 'AllowVPNDisconnect' },
    });
    expect(reportError(policy.io, 'disconnect', false, refusal)).toBe(1);
    expect(policy.err).toEqual(['tandem disconnect: permission denied: AllowVPNDisconnect is false\n']);
    const owner = io();
    reportError(owner.io, 'disconnect', false, new TandemError(ErrorCodes.PERMISSION, 'x', { details: { owner: 1 } }));
    expect(owner.err).toEqual(['tandem disconnect: permission denied: disconnect needs an administrator\n']);
  });
});
