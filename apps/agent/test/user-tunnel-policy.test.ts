/**
 * Who may start the user tunnel: administrators; with logind, the owner of an active local
 * session (not a remote one, not an inactive one); without logind, the operator's fallback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../src/options.js';
import { activeLocalUids, userTunnelRefusal } from '../src/user-tunnel-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-logind-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const session = (id: string, fields: Record<string, string>): void =>
  writeFileSync(
    join(dir, id),
    `# This is private data. Do not parse.\n${Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );

session('2', { UID: '1000', USER: 'alice', ACTIVE: '1', REMOTE: '0', STATE: 'active', SEAT: 'seat0' });
session('7', { UID: '1001', USER: 'bob', ACTIVE: '1', REMOTE: '1', STATE: 'active' });
session('9', { UID: '1002', USER: 'carol', ACTIVE: '0', REMOTE: '0', STATE: 'online', SEAT: 'seat0' });
writeFileSync(join(dir, '2.ref'), '');

describe('user tunnel policy', () => {
  it('with logind: the active local session user and administrators only', async () => {
    expect(await activeLocalUids(dir)).toEqual(new Set([1000]));
    const opts = { sessionsDir: dir, withoutLogind: 'any' as const };
    expect(await userTunnelRefusal({ uid: 1000, admin: false }, opts)).toBeNull();
    for (const uid of [1001, 1002, 65534]) {
      expect(await userTunnelRefusal({ uid, admin: false }, opts)).toMatch(/active local session/);
    }
    expect(await userTunnelRefusal({ uid: 0, admin: true }, opts)).toBeNull();
  });

  it('without logind: the configured fallback', async () => {
    const none = join(dir, 'absent');
    expect(await activeLocalUids(none)).toBeNull();
    expect(
      await userTunnelRefusal({ uid: 65534, admin: false }, { sessionsDir: none, withoutLogind: 'any' }),
    ).toBeNull();
    expect(
      await userTunnelRefusal({ uid: 65534, admin: false }, { sessionsDir: none, withoutLogind: 'admins' }),
    ).toMatch(/only administrators/);
    expect(await userTunnelRefusal({ uid: 0, admin: true }, { sessionsDir: none, withoutLogind: 'admins' })).toBeNull();
  });

  it('options: defaults and refusals', () => {
    const o = parseOptions([], {});
    expect(o.logindSessionsDir).toBeNull();
    expect(parseOptions(['--logind-sessions-dir', dir], {}).logindSessionsDir).toBe(dir);
    expect(o.userTunnelWithoutLogind).toBe('any');
    expect(parseOptions(['--user-tunnel-without-logind', 'admins'], {}).userTunnelWithoutLogind).toBe('admins');
    expect(() => parseOptions(['--user-tunnel-without-logind', 'everyone'], {})).toThrow(/any or admins/);
  });
});
