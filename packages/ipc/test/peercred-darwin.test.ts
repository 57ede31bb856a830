/** The macOS reader (LOCAL_PEERCRED + LOCAL_PEERPID) driven through a fake of getsockopt. */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { permissionsFor } from '@tandem/ipc/server';
import type { DarwinSocketApi } from '../src/server/libc-api-darwin.js';
import {
  LOCAL_PEERCRED,
  LOCAL_PEERPID,
  SOL_LOCAL,
  XUCRED_SIZE,
  darwinCredentialReader,
} from '../src/server/peercred-darwin.js';

const socket = (fd: number) => ({ _handle: { fd } }) as unknown as Socket;

/** A struct xucred as macOS lays it out. */
function xucred(uid: number, groups: number[], version = 0): Buffer {
  const b = Buffer.alloc(XUCRED_SIZE);
  b.writeUInt32LE(version, 0);
  b.writeUInt32LE(uid, 4);
  b.writeInt16LE(groups.length, 8);
  groups.forEach((g, i) => b.writeUInt32LE(g, 12 + 4 * i));
  return b;
}

interface Answer {
  errno?: number;
  bytes?: Buffer;
  length?: number;
}

/** Records every call and answers LOCAL_PEERCRED / LOCAL_PEERPID from `answers`. */
function fakeApi(answers: Record<number, Answer>) {
  const calls: Array<[number, number, number, number]> = [];
  const api: DarwinSocketApi = {
    getsockopt(fd, level, name, value) {
      calls.push([fd, level, name, value.length]);
      const a = answers[name] ?? {};
      if (a.errno) return { errno: a.errno, length: value.length };
      a.bytes?.copy(value);
      return { errno: 0, length: a.length ?? a.bytes?.length ?? 0 };
    },
  };
  return { api, calls };
}

const pid = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return isTandemError(err) ? `${err.code}: ${err.message}` : `untyped: ${String(err)}`;
  }
}

describe('macOS peer credentials (LOCAL_PEERCRED)', () => {
  it('reads uid, the effective gid and the pid from the accepted socket', () => {
    const { api, calls } = fakeApi({
      [LOCAL_PEERCRED]: { bytes: xucred(501, [20, 12, 61, 80]) },
      [LOCAL_PEERPID]: { bytes: pid(4242) },
    });
    const peer = darwinCredentialReader(api)(socket(9));
    expect(peer).toEqual({ pid: 4242, uid: 501, gid: 20, user: '501' });
    expect(calls).toEqual([
      [9, SOL_LOCAL, LOCAL_PEERCRED, XUCRED_SIZE],
      [9, SOL_LOCAL, LOCAL_PEERPID, 4],
    ]);
    // The same table as Linux: supplementary groups (80 = admin on macOS) do not make an admin.
    expect(permissionsFor(peer, { adminGid: 80 })).toEqual(['read', 'control']);
    expect(permissionsFor(peer, { adminGid: 20 })).toEqual(['read', 'control', 'admin']);
    const root = fakeApi({ [LOCAL_PEERCRED]: { bytes: xucred(0, [0]) }, [LOCAL_PEERPID]: { bytes: pid(1) } });
    expect(permissionsFor(darwinCredentialReader(root.api)(socket(3)), {})).toEqual(['read', 'control', 'admin']);
  });

  it('refuses, typed, every answer it cannot trust', async () => {
    const good = { bytes: pid(1) };
    const cases: Array<[string, Record<number, Answer>, string]> = [
      ['ENOTCONN from LOCAL_PEERCRED', { [LOCAL_PEERCRED]: { errno: 57 } }, 'errno 57'],
      ['EINVAL (not a local socket)', { [LOCAL_PEERCRED]: { errno: 22 } }, 'errno 22'],
      [
        'a short xucred',
        { [LOCAL_PEERCRED]: { bytes: xucred(501, [20]), length: 40 }, [LOCAL_PEERPID]: good },
        '40 bytes',
      ],
      ['an unknown xucred version', { [LOCAL_PEERCRED]: { bytes: xucred(501, [20], 1) } }, 'version 1'],
      ['no groups', { [LOCAL_PEERCRED]: { bytes: xucred(501, []) } }, '0 groups'],
      ['uid (uid_t)-1', { [LOCAL_PEERCRED]: { bytes: xucred(0xffffffff, [20]) } }, 'unknown'],
      [
        'LOCAL_PEERPID fails',
        { [LOCAL_PEERCRED]: { bytes: xucred(501, [20]) }, [LOCAL_PEERPID]: { errno: 9 } },
        'errno 9',
      ],
    ];
    for (const [name, answers, text] of cases) {
      const { api } = fakeApi(answers);
      const got = await codeOf(() => darwinCredentialReader(api)(socket(5)));
      expect(got, name).toMatch(new RegExp(`^${ErrorCodes.PERMISSION}: .*${text}`));
    }
  });

  it('refuses a socket without a descriptor before calling the OS', async () => {
    const { api, calls } = fakeApi({});
    expect(await codeOf(() => darwinCredentialReader(api)({} as Socket))).toMatch(/^E_PERMISSION/);
    expect(calls).toEqual([]);
  });
});
