/**
 * The agent's side of the bundle in isolation (apps/agent/src/diag/service.ts): who gets what,
 * the bounds on collections, chunked reads that only the collector's uid may make, and the
 * verbose-logging switch. The real collectors and a real agent are covered by
 * test/agent-diag-bundle.test.ts; here the collectors are stand-ins that answer at once.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError, nullLogger } from '@tandem/common';
import type { ParamsOf } from '@tandem/contract';
import type { CallContext } from '@tandem/ipc/server';
import { mergeProfiles } from '@tandem/profile';
import type { AgentState } from '../src/diag/agent-files.js';
import { DiagnosticsService, type PlannedCollector } from '../src/diag/service.js';
import { engineSnapshot } from './lib/snapshots.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

function ctx(uid: number, admin = uid === 0): CallContext {
  return {
    peer: { pid: 1, uid, gid: uid },
    perms: admin ? ['read', 'control', 'admin'] : ['read', 'control'],
    reverse: () => Promise.reject(Object.assign(new Error('no signer'), { code: ErrorCodes.IPC_METHOD })),
    emit: () => undefined,
    isOpen: () => true,
  } as unknown as CallContext;
}

const snapshot = engineSnapshot(
  {},
  {},
  {
    desired: { tunnel: 'none', reason: 'test' },
    tnd: { verdict: 'unknown', reason: 'no detection configured' },
  },
);

const state: AgentState = {
  snapshot: () => snapshot,
  machineTunnel: () => ({ enabled: true }),
  transitions: () => [],
  lastFailure: () => undefined,
  attempt: () => undefined,
  profiles: () => ({ merged: mergeProfiles([]), machine: null, files: [] }),
  machineVerdicts: async () => ({
    machine: null,
    user: { at: '', source: 'machine', selected: null, verdicts: [] },
    problems: [],
  }),
  config: () => ({ 'agent.stateDir': { value: '/run/tandem', source: 'default' } }),
};

/** A service whose collectors may be held open until `release()`. */
function service(hold = false) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const levels: Array<string | null> = [];
  let level: 'debug' | 'info' = 'info';
  const big = 'x'.repeat(2_500_000);
  const svc = new DiagnosticsService({
    agentVersion: '0.0.0-test',
    state,
    log: nullLogger,
    logs: () => async () => 'admin log line\n',
    collectors: ({ admin }): PlannedCollector[] => [
      {
        name: 'network/big.txt',
        fn: async () => {
          if (hold) await gate;
          return `${big}\ngateway: vpn.corp.example\nadmin: ${admin}\n`;
        },
        timeoutMs: 10_000,
        adminOnly: false,
      },
      { name: 'system/processes.txt', fn: async () => 'pid 1\n', timeoutMs: 1000, adminOnly: true },
    ],
    userVerdicts: async () => ({ at: '', source: 'user', selected: null, verdicts: [] }),
    verbosity: {
      set: (l) => {
        levels.push(l);
        level = l ?? 'info';
      },
      level: () => level,
    },
  });
  return { svc, release: () => release(), levels };
}

const params = (redact = true): ParamsOf<'diagnostics.collect'> => ({ bundleId: 'DIAG-0000-0001', key: KEY, redact });

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isTandemError(err) ? err.code : String(err);
  }
}

describe('the agent’s diagnostics service', () => {
  it('gives administrators their part and users theirs; only administrators may skip redaction', async () => {
    const { svc } = service();
    const user = await svc.collect(params(), ctx(1000));
    expect(user.audience).toBe('user');
    expect(user.files.map((f) => f.path)).not.toContain('system/processes.txt');
    expect(user.files.map((f) => f.path)).not.toContain('agent/logs/agent.log');
    const admin = await svc.collect(params(), ctx(0));
    expect(admin.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['system/processes.txt', 'agent/logs/agent.log']),
    );
    expect(await code(svc.collect(params(false), ctx(1001)))).toBe(ErrorCodes.PERMISSION);
    expect(await code(svc.collect(params(false), ctx(0)))).toBe('ok');
    svc.close();
  });

  it('reads in chunks of at most 1 MiB, to the collecting uid only, and lets go once everything was read', async () => {
    const { svc } = service();
    const c = await svc.collect(params(), ctx(1000));
    const big = c.files.find((f) => f.path === 'network/big.txt')!;
    // Another user learns nothing, not even that the collection exists.
    expect(
      await code(Promise.resolve().then(() => svc.read({ collection: c.collection, path: big.path, offset: 0 }, 1001))),
    ).toBe(ErrorCodes.USAGE);
    for (const f of c.files) {
      const parts: Buffer[] = [];
      for (let offset = 0; ;) {
        const r = svc.read({ collection: c.collection, path: f.path, offset }, 1000);
        const chunk = Buffer.from(r.data, 'base64');
        expect(chunk.length).toBeLessThanOrEqual(1024 * 1024);
        parts.push(chunk);
        offset += chunk.length;
        if (r.eof) break;
      }
      expect(Buffer.concat(parts).length).toBe(f.size);
    }
    // Redacted under the caller's key: the gateway is a token, and the agent reports the value it masked.
    expect(c.redaction.values).toEqual(expect.arrayContaining([{ kind: 'host', value: 'vpn.corp.example' }]));
    expect(() => svc.read({ collection: c.collection, path: big.path, offset: 0 }, 1000)).toThrow(/unknown or expired/);
    svc.close();
  });

  it('one collection per uid in progress, three for users at once, a fourth slot for root', async () => {
    const { svc, release } = service(true);
    const running = [1000, 1001, 1002].map((uid) => svc.collect(params(), ctx(uid)));
    await new Promise((r) => setTimeout(r, 20));
    expect(await code(svc.collect(params(), ctx(1000)))).toBe(ErrorCodes.IPC_LIMIT); // its own is running
    expect(await code(svc.collect(params(), ctx(1003)))).toBe(ErrorCodes.IPC_LIMIT); // users are at three
    const root = svc.collect(params(), ctx(0));
    release();
    expect(await code(root)).toBe('ok');
    expect((await Promise.all(running)).length).toBe(3);
    // A new collection replaces the same uid's unread one.
    expect(await code(svc.collect(params(), ctx(1000)))).toBe('ok');
    svc.close();
  });

  it('record: debug on until switched off, and off again by itself is the base level', () => {
    const { svc, levels } = service();
    const on = svc.record(true, 1000);
    expect(on.level).toBe('debug');
    expect(Date.parse(on.until!)).toBeGreaterThan(Date.now() + 29 * 60_000);
    const off = svc.record(false, 1000);
    expect(off).toEqual({ level: 'info' });
    expect(levels).toEqual(['debug', null]);
    svc.close();
  });
});
