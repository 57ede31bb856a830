/** The pure permission map. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peerUser } from '@tandem/ipc';
import { permissionsFor, roleFor } from '@tandem/ipc/server';

describe('permissionsFor', () => {
  const table: Array<[string, { uid: number; gid: number }, { adminGid?: number }, string[]]> = [
    ['root', { uid: 0, gid: 0 }, {}, ['read', 'control', 'admin']],
    ['root with an admin group configured', { uid: 0, gid: 0 }, { adminGid: 27 }, ['read', 'control', 'admin']],
    ['user in the admin group', { uid: 1000, gid: 27 }, { adminGid: 27 }, ['read', 'control', 'admin']],
    ['user not in the admin group', { uid: 1000, gid: 1000 }, { adminGid: 27 }, ['read', 'control']],
    ['user without an admin group configured', { uid: 1000, gid: 1000 }, {}, ['read', 'control']],
    ['nobody', { uid: 65534, gid: 65534 }, {}, ['read', 'control']],
    ['gid 0 is not an admin group by itself', { uid: 1000, gid: 0 }, {}, ['read', 'control']],
    [
      'adminGid 0 is ignored (would make every gid-0 process admin)',
      { uid: 1000, gid: 0 },
      { adminGid: 0 },
      ['read', 'control'],
    ],
  ];
  for (const [name, cred, policy, expected] of table) {
    it(name, () => expect(permissionsFor({ pid: 1, ...cred }, policy)).toEqual(expected));
  }

  it('only uid 0 or the admin gid ever get admin', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.option(fc.nat(), { nil: undefined }), (uid, gid, adminGid) => {
        const role = roleFor({ pid: 1, uid, gid }, adminGid === undefined ? {} : { adminGid });
        const expected = uid === 0 || (adminGid !== undefined && adminGid !== 0 && gid === adminGid) ? 'admin' : 'user';
        expect(role).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns a fresh array each time', () => {
    const a = permissionsFor({ pid: 1, uid: 0, gid: 0 }, {});
    a.pop();
    expect(permissionsFor({ pid: 1, uid: 0, gid: 0 }, {})).toHaveLength(3);
  });

  it('the same table on Windows: the token decides (admin), the Unix admin group never matches gid -1', () => {
    const sid = 'S-1-5-21-1-2-3-1001';
    const win = { pid: 1, uid: 2 ** 30, gid: -1, user: sid };
    expect(permissionsFor({ ...win, admin: true }, {})).toEqual(['read', 'control', 'admin']);
    expect(permissionsFor({ ...win, admin: false }, { adminGid: 27 })).toEqual(['read', 'control']);
    expect(permissionsFor({ ...win, admin: false }, { adminGid: -1 })).toEqual(['read', 'control']);
    expect(peerUser(win)).toBe(sid);
    expect(peerUser({ pid: 1, uid: 1000, gid: 1000 })).toBe('1000');
  });
});
