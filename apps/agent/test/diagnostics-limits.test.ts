/**
 * `diagnostics.export` is cheap to ask for and costs child processes to serve: the network facts
 * (routes, addresses, resolv.conf) are shared by every export within a short window, and one uid
 * may have only two exports running at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, nullLogger } from '@tandem/common';
import { mergeProfiles } from '@tandem/profile';
import { MachineStore } from '../src/adapters/machine-credentials.js';
import { exportFor, type DiagnosticSources } from '../src/diagnostics.js';
import type { ProfileSet } from '../src/profiles.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-diag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const resolvConf = join(dir, 'resolv.conf');

const sources: DiagnosticSources = {
  agentVersion: '0.0.0-test',
  status: () => ({}) as never,
  profiles: () => ({ merged: mergeProfiles([]), files: [], machine: null }) as unknown as ProfileSet,
  machineStore: new MachineStore(join(dir, 'no-store'), null, nullLogger),
  logRecords: () => [],
  removedEnvironment: [],
  resolvConf,
};

const resolvIn = (r: { data: string }): string =>
  (JSON.parse(Buffer.from(r.data, 'base64').toString()) as { network: { resolvConf: string } }).network.resolvConf;

describe('diagnostics.export under load', () => {
  it('shares one set of network facts between exports close together, and refreshes after', async () => {
    writeFileSync(resolvConf, 'nameserver 192.0.2.1\n');
    const [a, b] = await Promise.all([
      exportFor(sources, { uid: 1001, admin: false }),
      exportFor(sources, { uid: 1002, admin: false }),
    ]);
    writeFileSync(resolvConf, 'nameserver 192.0.2.2\n');
    const c = await exportFor(sources, { uid: 1003, admin: false });
    expect([resolvIn(a), resolvIn(b), resolvIn(c)]).toEqual(Array(3).fill('nameserver 192.0.2.1\n'));
    await new Promise((r) => setTimeout(r, 2100));
    expect(resolvIn(await exportFor(sources, { uid: 1003, admin: false }))).toBe('nameserver 192.0.2.2\n');
  });

  it('one uid may have two exports running; the third is refused with E_IPC_LIMIT, others are not', async () => {
    const mine = [0, 1, 2].map(() =>
      exportFor(sources, { uid: 1010, admin: false }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    const other = exportFor(sources, { uid: 1011, admin: false }).then(() => 'ok');
    expect(await Promise.all(mine)).toEqual(['ok', 'ok', ErrorCodes.IPC_LIMIT]);
    expect(await other).toBe('ok');
    // Finished exports free their slot.
    expect(await exportFor(sources, { uid: 1010, admin: false }).then(() => 'ok')).toBe('ok');
  });
});
