/**
 * The agent's collector list: admin-only files left out for other users, valid bundle paths, and
 * a real bundle built from every collector on this machine, each ending normally.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBundlePath, createBundle } from '@tandem/diagnostics';
import { agentCollectors, type AgentCollectorsInput } from '../src/diag/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-diag-all-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = (over: Partial<AgentCollectorsInput> = {}): AgentCollectorsInput => ({
  hosts: [],
  sinceMs: Date.now() - 3600_000,
  full: false,
  admin: true,
  ...over,
});

const ALL = [
  'network/interfaces.txt',
  'network/routes4.txt',
  'network/routes6.txt',
  'network/dns.txt',
  'network/firewall.txt',
  'network/proxy.txt',
  'network/connectivity.txt',
  'system/os.txt',
  'system/processes.txt',
  'system/software.txt',
  'system/journal.txt',
];

describe('agentCollectors', () => {
  it('an administrator gets every collector, each with a valid path and a time limit', () => {
    const list = agentCollectors(input());
    expect(list.map((c) => c.name)).toEqual(ALL);
    for (const c of list) {
      expect(() => checkBundlePath(c.name)).not.toThrow();
      expect(c.timeoutMs).toBeGreaterThan(0);
    }
    expect(list.filter((c) => c.adminOnly).map((c) => c.name)).toEqual([
      'network/firewall.txt',
      'system/processes.txt',
      'system/journal.txt',
    ]);
  });

  it('other users never get the admin-only ones', () => {
    const names = agentCollectors(input({ admin: false })).map((c) => c.name);
    expect(names).toEqual(ALL.filter((n) => !/firewall|processes|journal/.test(n)));
  });

  it('the connectivity limit grows with the number of gateways', () => {
    const limit = (n: number): number =>
      agentCollectors(
        input({ hosts: Array.from({ length: n }, (_, i) => ({ name: `g${i}`, address: `g${i}.invalid` })) }),
      ).find((c) => c.name === 'network/connectivity.txt')?.timeoutMs ?? 0;
    expect(limit(9)).toBeGreaterThan(limit(4));
  });

  it('every collector runs to its end in a real bundle on this machine', async () => {
    const bundle = createBundle({ dir, toolVersion: '0.0.0-test' });
    const runs = await Promise.all(
      agentCollectors(input({ resolvConf: '/etc/resolv.conf' })).map((c) =>
        bundle.addCollector(c.name, c.fn, { timeoutMs: c.timeoutMs }),
      ),
    );
    const result = await bundle.finish();
    for (const r of runs) {
      expect(r.exit, `${r.name}: ${r.error ?? ''}`).not.toBe('error');
      expect(r.exit, r.name).not.toBe('timeout');
      expect(r.files).toEqual([r.name]);
    }
    expect(result.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(ALL));
  });
});
