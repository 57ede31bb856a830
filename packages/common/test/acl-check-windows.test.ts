/** The Windows ownership and DACL rules, and the SID text the binding produces. */
import { describe, expect, it } from 'vitest';
import { sidFromBytes } from '../src/acl-api-windows.js';
import {
  aclRefusal,
  CREATOR_OWNER_SID,
  REPLACE_RIGHTS,
  TRUSTED_INSTALLER_SID,
  WRITE_RIGHTS,
} from '../src/acl-check-windows.js';
import { ADMINS, ALICE, allow, FULL, PROTECTED, READ, SYSTEM, USERS } from './fake-acl-api.js';

describe('Windows ACL rules', () => {
  it('passes the protected DACL for both exposures, owned by SYSTEM, Administrators or the process user', () => {
    for (const owner of [SYSTEM, ADMINS]) {
      expect(aclRefusal({ ...PROTECTED, owner }, 'no-access', SYSTEM)).toBeNull();
      expect(aclRefusal({ ...PROTECTED, owner }, 'no-write', SYSTEM)).toBeNull();
    }
    expect(aclRefusal({ owner: ALICE, dacl: [allow(ALICE, FULL)] }, 'no-access', ALICE)).toBeNull();
    expect(aclRefusal({ ...PROTECTED, owner: ALICE }, 'no-access', SYSTEM)).toMatch(/owned by S-1-5-21-1-2-3-1001/);
  });

  it('refuses a NULL DACL and entries it cannot read, skips deny entries', () => {
    expect(aclRefusal({ owner: SYSTEM, dacl: null }, 'no-write', SYSTEM)).toMatch(/NULL DACL/);
    for (const type of [4, 5, 9, 11])
      expect(aclRefusal({ owner: SYSTEM, dacl: [{ type, flags: 0, mask: 1, sid: '' }] }, 'no-write', SYSTEM)).toMatch(
        new RegExp(`type ${type}`),
      );
    const deny = { type: 1, flags: 0, mask: FULL, sid: USERS };
    expect(aclRefusal({ owner: SYSTEM, dacl: [deny, ...PROTECTED.dacl!] }, 'no-access', SYSTEM)).toBeNull();
  });

  it('no-write lets others read but not change; no-access lets them do nothing', () => {
    const readable = { owner: SYSTEM, dacl: [...PROTECTED.dacl!, allow(USERS, READ)] };
    expect(aclRefusal(readable, 'no-write', SYSTEM)).toBeNull();
    expect(aclRefusal(readable, 'no-access', SYSTEM)).toBe('grants S-1-5-32-545 access (0x1200a9)');
    // Every single write-class bit is enough, generic ones included.
    for (let bit = 1; bit !== 0; bit = (bit << 1) >>> 0) {
      if ((WRITE_RIGHTS & bit) === 0) continue;
      const dacl = [allow(USERS, bit)];
      expect(aclRefusal({ owner: SYSTEM, dacl }, 'no-write', SYSTEM), bit.toString(16)).toMatch(/write access/);
    }
  });

  it('checks inherit-only entries (future files) except CREATOR OWNER', () => {
    const inheritOnly = 0x8 | 0x1;
    expect(aclRefusal({ owner: SYSTEM, dacl: [allow(USERS, FULL, inheritOnly)] }, 'no-write', SYSTEM)).toMatch(
      /S-1-5-32-545/,
    );
    expect(
      aclRefusal({ owner: SYSTEM, dacl: [allow(CREATOR_OWNER_SID, FULL, inheritOnly)] }, 'no-access', SYSTEM),
    ).toBeNull();
    expect(aclRefusal({ owner: SYSTEM, dacl: [allow(CREATOR_OWNER_SID, FULL)] }, 'no-access', SYSTEM)).toMatch(
      /S-1-3-0/,
    );
  });

  it("no-replace (a directory on a trusted file's path): creating entries is fine, replacing them is not", () => {
    // %ProgramData% as Windows ships it: users may add files and folders, CREATOR OWNER gets the rest.
    const programData = {
      owner: SYSTEM,
      dacl: [
        allow(SYSTEM, FULL, 3),
        allow(ADMINS, FULL, 3),
        allow(CREATOR_OWNER_SID, 0x10000000, 0xb),
        allow(USERS, READ, 3),
        allow(USERS, 0x2 | 0x4 | 0x10 | 0x100, 2),
      ],
    };
    expect(aclRefusal(programData, 'no-replace', SYSTEM)).toBeNull();
    expect(aclRefusal(programData, 'no-write', SYSTEM)).toMatch(/S-1-5-32-545 write access/);
    // A drive's root: TrustedInstaller's, users' modify right inherit-only.
    const root = { owner: TRUSTED_INSTALLER_SID, dacl: [allow(USERS, 0x1301bf, 0xb), allow(USERS, 0x4)] };
    expect(aclRefusal(root, 'no-replace', SYSTEM)).toBeNull();
    for (let bit = 1; bit !== 0; bit = (bit << 1) >>> 0) {
      if ((REPLACE_RIGHTS & bit) === 0) continue;
      expect(aclRefusal({ owner: SYSTEM, dacl: [allow(USERS, bit)] }, 'no-replace', SYSTEM), bit.toString(16)).toMatch(
        /the right to replace its entries/,
      );
    }
    expect(aclRefusal({ owner: ALICE, dacl: [] }, 'no-replace', SYSTEM)).toMatch(/owned by/);
  });

  it('reads SIDs as ConvertSidToStringSidW writes them', () => {
    expect(sidFromBytes([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])).toBe(SYSTEM);
    expect(sidFromBytes([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0])).toBe(ADMINS);
    const rid = [0xe9, 0x03, 0, 0];
    const sid = [1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, ...rid];
    expect(sidFromBytes(sid)).toBe('S-1-5-21-1-2-4294967295-1001');
    expect(sidFromBytes([1, 0, 0x01, 0, 0, 0, 0, 0])).toBe('S-1-0x010000000000');
    for (const bad of [
      [2, 0, 0, 0, 0, 0, 0, 5],
      [1, 16, 0, 0, 0, 0, 0, 5],
      [1, 1, 0, 0, 0, 0, 0, 5, 18],
    ])
      expect(() => sidFromBytes(bad)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});
