/** Identifying the named pipe's client from its token, driven through the recording fake. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { permissionsFor } from '@tandem/ipc/server';
import { SID_UID_BASE, SidUids, identifyPipeClient, type RevertFailure } from '../src/server/peercred-windows.js';
import {
  ELEVATED_ADMIN_GROUPS,
  FILTERED_ADMIN_GROUPS,
  FakePipeApi,
  USER_GROUPS,
  type FakeClient,
} from './fake-pipe-api.js';

const ALICE = 'S-1-5-21-1004336348-1177238915-682003330-1001';
const BOB = 'S-1-5-21-1004336348-1177238915-682003330-1002';

/** Connects `client` on a fresh pipe of a fresh fake and returns both. */
async function connected(client: FakeClient): Promise<{ api: FakePipeApi; pipe: number }> {
  const api = new FakePipeApi();
  const sd = api.securityDescriptor('D:');
  const created = api.createNamedPipe('\\\\.\\pipe\\t', 0, 0, 1, 1, sd.ok ? sd.value : { sddl: '' });
  if (!created.ok) throw new Error('fake refused');
  const done = api.connectNamedPipe(created.value);
  api.arrive(client);
  expect(await done).toBe(0);
  api.calls.length = 0;
  return { api, pipe: created.value };
}

function failure(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    if (isTandemError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('did not throw');
}

describe('Windows pipe client identity', () => {
  it('reads the SID and groups from the impersonation token, reverts at once and closes the token', async () => {
    const { api, pipe } = await connected({ pid: 812, sid: ALICE, groups: USER_GROUPS });
    const peer = identifyPipeClient(api, pipe, new SidUids());
    expect(peer).toEqual({ pid: 812, uid: SID_UID_BASE, gid: -1, user: ALICE, admin: false });
    expect(api.calls).toEqual([
      `GetNamedPipeClientProcessId(${pipe})`,
      `ImpersonateNamedPipeClient(${pipe})`,
      'OpenThreadToken(impersonating)',
      'RevertToSelf()',
      'GetTokenInformation(101, TokenUser)',
      'GetTokenInformation(101, TokenGroups)',
      'CloseHandle(101)',
    ]);
    expect(api.stillImpersonating).toBe(false);
    expect(permissionsFor(peer, {})).toEqual(['read', 'control']);
  });

  it('admin only for LocalSystem and an elevated Administrators token; the filtered token is a user', async () => {
    const cases: Array<[string, FakeClient, boolean, number]> = [
      ['LocalSystem', { pid: 4, sid: 'S-1-5-18', groups: [] }, true, 0],
      ['elevated administrator', { pid: 5, sid: ALICE, groups: ELEVATED_ADMIN_GROUPS }, true, SID_UID_BASE],
      ['UAC-filtered administrator', { pid: 6, sid: ALICE, groups: FILTERED_ADMIN_GROUPS }, false, SID_UID_BASE],
      [
        'Administrators present but not enabled',
        { pid: 7, sid: ALICE, groups: [{ sid: 'S-1-5-32-544', attributes: 0x1 }] },
        false,
        SID_UID_BASE,
      ],
      ['a user', { pid: 8, sid: ALICE, groups: USER_GROUPS }, false, SID_UID_BASE],
    ];
    for (const [name, client, admin, uid] of cases) {
      const { api, pipe } = await connected(client);
      const peer = identifyPipeClient(api, pipe, new SidUids());
      expect({ admin: peer.admin, uid: peer.uid }, name).toEqual({ admin, uid });
      expect(permissionsFor(peer, {}).includes('admin'), name).toBe(admin);
      // The Unix admin group never applies: the Windows gid is -1.
      expect(permissionsFor(peer, { adminGid: 1 }).includes('admin'), name).toBe(admin);
    }
  });

  it('gives each SID its own stable uid for the agent run', () => {
    const uids = new SidUids();
    expect(uids.uidFor(ALICE)).toBe(SID_UID_BASE);
    expect(uids.uidFor(BOB)).toBe(SID_UID_BASE + 1);
    expect(uids.uidFor(ALICE)).toBe(SID_UID_BASE);
    expect(uids.uidFor('S-1-5-18')).toBe(0);
    for (const bad of ['', 'S-1', 'S-1-5-18\n', 'alice', 'S-1-5-21-x']) {
      expect(failure(() => uids.uidFor(bad)).code, bad).toBe(ErrorCodes.PERMISSION);
    }
  });

  it('refuses, typed and naming the call and code, when any step fails; the token never leaks', async () => {
    const cases: Array<[string, Partial<FakeClient>, string, number]> = [
      ['client pid', { pidError: 6 }, 'GetNamedPipeClientProcessId', 6],
      ['impersonation', { impersonateError: 1368 }, 'ImpersonateNamedPipeClient', 1368],
      ['anonymous client', { tokenError: 1347 }, 'OpenThreadToken', 1347],
      ['identification level too low', { tokenError: 1346 }, 'OpenThreadToken', 1346],
      ['token user', { userError: 5 }, 'GetTokenInformation(TokenUser)', 5],
      ['token groups', { groupsError: 122 }, 'GetTokenInformation(TokenGroups)', 122],
    ];
    for (const [name, fault, call, code] of cases) {
      const { api, pipe } = await connected({ pid: 1, sid: ALICE, groups: USER_GROUPS, ...fault });
      const f = failure(() => identifyPipeClient(api, pipe, new SidUids()));
      expect(f.code, name).toBe(ErrorCodes.PERMISSION);
      expect(f.message, name).toContain(`${call} failed: Win32 error ${code}`);
      expect(f.details, name).toEqual({ call, win32Error: code });
      expect(api.stillImpersonating, name).toBe(false);
      expect(
        [...api.open].filter((h) => h !== pipe),
        name,
      ).toEqual([]);
    }
  });

  it('a failed RevertToSelf ends the process before anything else runs as the client', async () => {
    const { api, pipe } = await connected({ pid: 1, sid: ALICE, groups: USER_GROUPS });
    api.revertError = 5;
    const fatal: RevertFailure = (error) => {
      throw new Error(`fatal ${error}`);
    };
    expect(() => identifyPipeClient(api, pipe, new SidUids(), fatal)).toThrow('fatal 5');
    expect(api.calls.at(-1)).toBe('RevertToSelf()');
  });
});
