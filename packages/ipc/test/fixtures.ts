/**
 * Shared test fixtures: handlers that return contract-valid canned results, one valid params
 * example per method, and temp socket directories reachable by an unprivileged child.
 */
import { mkdtemp, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, type MethodName, type ParamsOf, type StatusSnapshot } from '@tandem/contract';
import type { Handlers } from '@tandem/ipc/server';

/** A snapshot with the user tunnel connected. */
export const SNAPSHOT: StatusSnapshot = {
  machine: { tunnel: 'machine', status: { state: 'idle' } },
  user: {
    tunnel: 'user',
    ownerUid: 1000,
    status: {
      state: 'connected',
      gateway: 'vpn.example.test',
      since: '2026-01-01T00:00:00.000Z',
      addresses: { ipv4: '10.8.0.2', dns: ['10.8.0.1'], searchDomains: ['corp.test'] },
      bytesIn: 1234,
      bytesOut: 567,
      dtls: true,
    },
  },
};

/** Handlers returning canned, contract-valid results; `calls` records who called what. */
export function fakeHandlers(calls: Array<{ method: string; uid: number }> = []): Handlers {
  const note = (method: string, uid: number): void => void calls.push({ method, uid });
  return {
    status: async (_p, ctx) => (note('status', ctx.peer.uid), SNAPSHOT),
    hosts: async (_p, ctx) => (note('hosts', ctx.peer.uid), { hosts: [{ name: 'Corp', address: 'vpn.example.test' }] }),
    stats: async (_p, ctx) => (
      note('stats', ctx.peer.uid),
      { sections: [{ title: 'Bytes', entries: [{ name: 'Bytes Sent', value: '567' }] }] }
    ),
    connect: async (_p, ctx) => (note('connect', ctx.peer.uid), { accepted: true, tunnel: SNAPSHOT.user }),
    disconnect: async (_p, ctx) => (note('disconnect', ctx.peer.uid), { tunnel: SNAPSHOT.user }),
    'machineTunnel.status': async (_p, ctx) => (
      note('machineTunnel.status', ctx.peer.uid),
      { enabled: true, tunnel: SNAPSHOT.machine }
    ),
    'machineTunnel.enable': async (_p, ctx) => (
      note('machineTunnel.enable', ctx.peer.uid),
      { enabled: true, tunnel: SNAPSHOT.machine }
    ),
    'machineTunnel.disable': async (_p, ctx) => (
      note('machineTunnel.disable', ctx.peer.uid),
      { enabled: false, tunnel: SNAPSHOT.machine }
    ),
    'diagnostics.collect': async (_p, ctx) => (
      note('diagnostics.collect', ctx.peer.uid),
      {
        collection: 'a'.repeat(32),
        files: [],
        skipped: [],
        collectors: [],
        redaction: { rules: {}, values: [] },
        audience: 'user' as const,
      }
    ),
    'diagnostics.read': async (_p, ctx) => (note('diagnostics.read', ctx.peer.uid), { data: 'AAAA', eof: true }),
    'diagnostics.record': async (_p, ctx) => (note('diagnostics.record', ctx.peer.uid), { level: 'info' as const }),
    'logs.tail': async (_p, ctx) => (
      note('logs.tail', ctx.peer.uid),
      {
        records: [{ time: '2026-01-01T00:00:00.000Z', level: 'info', scope: 'engine', msg: 'hello' }],
      }
    ),
    'signer.register': async (_p, ctx) => (note('signer.register', ctx.peer.uid), { registered: true as const }),
  };
}

/** One valid params object per method; a method missing here fails the table tests. */
export const VALID_PARAMS: { [M in MethodName]: ParamsOf<M> } = {
  hello: { apiVersion: API_VERSION, clientVersion: 'test' },
  status: {},
  hosts: {},
  stats: {},
  watch: { events: ['state'] },
  connect: { host: 'Corp' },
  disconnect: {},
  'machineTunnel.status': {},
  'machineTunnel.enable': {},
  'machineTunnel.disable': {},
  'diagnostics.collect': { bundleId: 'DIAG-0000-0000', key: `${'A'.repeat(43)}=`, redact: true },
  'diagnostics.read': { collection: 'a'.repeat(32), path: 'summary.txt', offset: 0 },
  'diagnostics.record': { on: true },
  'logs.tail': { lines: 10 },
  'signer.register': {},
};

/** A fresh 0755 directory under the system temp dir for a socket; `cleanup` removes it. */
export async function socketDir(): Promise<{ dir: string; path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-ipc-'));
  await chmod(dir, 0o755);
  return { dir, path: join(dir, 'tandemd.sock'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** True when the test process runs as root (needed for uid switching and root-owned sockets). */
export { isRoot } from '@tandem/testkit';
