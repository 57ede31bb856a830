/**
 * Who is at the console, per platform: logind on Linux, the owner of /dev/console on macOS, the
 * active console session's user on Windows (over a recording fake of the WTS calls); and how the
 * user-tunnel policy uses the answer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { openConsoleUsers, openUserTunnelGate } from '../src/console-user.js';
import { darwinConsoleUsers } from '../src/console-user-darwin.js';
import { windowsConsoleUsers } from '../src/console-user-windows.js';
import { userTunnelRefusal, type ConsoleUsers } from '../src/user-tunnel-policy.js';
import type { Win32, WtsApi } from '../src/wtsapi-api-windows.js';

const ALICE = 'S-1-5-21-1-2-3-1001';
const BOB = 'S-1-5-21-1-2-3-1002';

class FakeWtsApi implements WtsApi {
  readonly calls: string[] = [];
  constructor(
    private readonly session: number,
    private readonly user: Win32<string>,
  ) {}
  activeConsoleSessionId(): number {
    this.calls.push('WTSGetActiveConsoleSessionId()');
    return this.session;
  }
  sessionUser(session: number): Win32<string> {
    this.calls.push(`WTSQueryUserToken(${session}) + TokenUser`);
    return this.user;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-console-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('console users per platform', () => {
  it('Linux: logind, as before, read at each call', async () => {
    writeFileSync(join(dir, '3'), 'UID=1000\nACTIVE=1\nREMOTE=0\n');
    let sessions: string | null = dir;
    const users = await openConsoleUsers({ sessionsDir: () => sessions }, 'linux');
    expect(await users()).toEqual(new Set(['1000']));
    sessions = null;
    expect(await users()).toBeNull();
  });

  it('macOS: the owner of /dev/console; nobody at the login window; null when there is no console device', async () => {
    expect(await darwinConsoleUsers(() => Promise.resolve(501))()).toEqual(new Set(['501']));
    expect(await darwinConsoleUsers(() => Promise.resolve(0))()).toEqual(new Set());
    expect(await darwinConsoleUsers(() => Promise.reject(new Error('ENOENT')))()).toBeNull();
    // The darwin module is what macOS gets; here /dev/console is root's.
    expect(await (await openConsoleUsers({ sessionsDir: () => null }, 'darwin'))()).toEqual(new Set());
  });

  it("Windows: the active console session's user; nobody while switching or at the logon screen", async () => {
    const api = new FakeWtsApi(2, { ok: true, value: ALICE });
    expect(await windowsConsoleUsers(api)()).toEqual(new Set([ALICE]));
    expect(api.calls).toEqual(['WTSGetActiveConsoleSessionId()', 'WTSQueryUserToken(2) + TokenUser']);
    const switching = new FakeWtsApi(0xffffffff, { ok: true, value: ALICE });
    expect(await windowsConsoleUsers(switching)()).toEqual(new Set());
    expect(switching.calls).toEqual(['WTSGetActiveConsoleSessionId()']);
    for (const error of [1008, 7022])
      expect(await windowsConsoleUsers(new FakeWtsApi(1, { ok: false, error }))()).toEqual(new Set());
  });

  it('Windows: not LocalSystem cannot tell (the fallback applies); any other failure refuses, typed', async () => {
    expect(await windowsConsoleUsers(new FakeWtsApi(1, { ok: false, error: 1314 }))()).toBeNull();
    await expect(windowsConsoleUsers(new FakeWtsApi(1, { ok: false, error: 87 }))()).rejects.toMatchObject({
      code: ErrorCodes.PERMISSION,
      message: 'cannot tell the console user: WTSQueryUserToken(session 1) failed: Win32 error 87',
    });
  });

  it('selection: the Windows module only on win32 (its binding refuses here), a typed error elsewhere', async () => {
    await expect(openConsoleUsers({ sessionsDir: () => null }, 'win32')).rejects.toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: expect.stringMatching(/console session API cannot be bound on linux/),
    });
    await expect(openConsoleUsers({ sessionsDir: () => null }, 'freebsd')).rejects.toMatchObject({
      code: ErrorCodes.USAGE,
    });
  });

  it('the user-tunnel policy compares the caller by user key; administrators always pass', async () => {
    const at =
      (users: ReadonlySet<string> | null): ConsoleUsers =>
      () =>
        Promise.resolve(users);
    const opts = (users: ReadonlySet<string> | null, withoutLogind: 'any' | 'admins' = 'any') => ({
      sessionsDir: null,
      withoutLogind,
      consoleUsers: at(users),
    });
    const alice = { uid: 2 ** 30, admin: false, user: ALICE };
    expect(await userTunnelRefusal(alice, opts(new Set([ALICE])))).toBeNull();
    expect(await userTunnelRefusal({ ...alice, user: BOB }, opts(new Set([ALICE])))).toMatch(/active local session/);
    expect(await userTunnelRefusal({ ...alice, admin: true, user: BOB }, opts(new Set()))).toBeNull();
    expect(await userTunnelRefusal(alice, opts(null, 'any'))).toBeNull();
    expect(await userTunnelRefusal(alice, opts(null, 'admins'))).toMatch(/only administrators/);
    // Without a user key (Unix credentials built by hand): the uid in decimal.
    expect(await userTunnelRefusal({ uid: 501, admin: false }, opts(new Set(['501'])))).toBeNull();
  });

  it("the agent's gate: logind from --logind-sessions-dir on Linux, the caller's user key compared", async () => {
    writeFileSync(join(dir, '4'), 'UID=1004\nACTIVE=1\nREMOTE=0\n');
    const gate = await openUserTunnelGate({ logindSessionsDir: dir, userTunnelWithoutLogind: 'admins' }, 'linux');
    expect(await gate({ uid: 1004, admin: false, user: '1004' })).toBeNull();
    expect(await gate({ uid: 1005, admin: false, user: '1005' })).toMatch(/active local session/);
    expect(await gate({ uid: 0, admin: true, user: '0' })).toBeNull();
  });
});
