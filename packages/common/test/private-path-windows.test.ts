/**
 * The Windows private-path policy over the recording fake of its ACL calls: the DACLs it creates
 * directories with, what it checks and in which order, and every refusal typed with the caller's
 * code. Real files in a temp directory stand in for NTFS; their security comes from the fake.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { parentDirSddl, privateDirSddl, windowsPrivatePaths } from '../src/private-path-windows.js';
import { ADMINS, ALICE, allow, FakeAclApi, FULL, PROTECTED, READ, SYSTEM, USERS } from './fake-acl-api.js';

const CODE = ErrorCodes.STATE_FILE;
let root: string;
let api: FakeAclApi;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tandem-acl-'));
  api = new FakeAclApi();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const refusedWith = (pattern: RegExp) =>
  expect.objectContaining({ code: CODE, message: expect.stringMatching(pattern) });

describe('Windows private paths', () => {
  it('creates missing parents readable by users and the directory private, protected, then checks it', () => {
    const policy = windowsPrivatePaths(api);
    const dir = join(root, 'Tandem', 'state', 'netjournal');
    policy.ensurePrivateDir(dir, CODE);
    expect(api.calls).toEqual([
      'GetTokenInformation(TokenUser)',
      `CreateDirectoryW(${join(root, 'Tandem')}, D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU))`,
      `CreateDirectoryW(${join(root, 'Tandem', 'state')}, D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU))`,
      `CreateDirectoryW(${dir}, D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA))`,
      `GetNamedSecurityInfoW(${dir})`,
    ]);
    api.calls.length = 0;
    // Present: checked only.
    policy.ensurePrivateDir(dir, CODE);
    expect(api.calls).toEqual([`GetNamedSecurityInfoW(${dir})`]);
  });

  it("puts a user process's own SID in the DACLs it writes", () => {
    expect(privateDirSddl(SYSTEM)).toBe('D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)');
    expect(privateDirSddl(ALICE)).toBe(`D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;${ALICE})`);
    expect(parentDirSddl(ALICE)).toBe(`${privateDirSddl(ALICE)}(A;OICI;0x1200a9;;;BU)`);
  });

  it('refuses a directory someone else prepared, a readable one, a link; names the Win32 error of a failed call', () => {
    const policy = windowsPrivatePaths(api);
    const dir = join(root, 'state');
    mkdirSync(dir);
    api.security.set(dir, { ...PROTECTED, owner: ALICE });
    expect(() => policy.ensurePrivateDir(dir, CODE)).toThrow(refusedWith(/owned by S-1-5-21-1-2-3-1001/));
    expect(api.calls.filter((c) => c.startsWith('CreateDirectoryW'))).toEqual([]);
    api.security.set(dir, { owner: ADMINS, dacl: [...PROTECTED.dacl!, allow(USERS, READ)] });
    expect(() => policy.checkPrivateDir(dir, CODE)).toThrow(refusedWith(/grants S-1-5-32-545 access/));
    api.security.delete(dir);
    api.errors.set(`GetNamedSecurityInfoW ${dir}`, 5);
    expect(() => policy.checkPrivateDir(dir, CODE)).toThrow(
      refusedWith(/GetNamedSecurityInfoW .* failed: Win32 error 5 \(ERROR_ACCESS_DENIED\)/),
    );
    const link = join(root, 'link');
    symlinkSync(dir, link);
    expect(() => policy.checkPrivateDir(link, CODE)).toThrow(refusedWith(/symbolic link or junction/));
    writeFileSync(join(root, 'file'), '');
    expect(() => policy.checkPrivateDir(join(root, 'file'), CODE)).toThrow(refusedWith(/not a directory/));
    expect(() => policy.checkPrivateDir(join(root, 'absent'), CODE)).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('a failed CreateDirectoryW is typed; one that lost a race to another creator is checked like any', () => {
    const policy = windowsPrivatePaths(api);
    const dir = join(root, 'state');
    api.errors.set(`CreateDirectoryW ${dir}`, 5);
    expect(() => policy.ensurePrivateDir(dir, CODE)).toThrow(refusedWith(/CreateDirectoryW .* Win32 error 5/));
    api.errors.set(`CreateDirectoryW ${dir}`, 183);
    api.security.set(dir, { ...PROTECTED, owner: ALICE });
    // Created by someone else between the lstat and CreateDirectoryW: refused by the check.
    expect(() => policy.ensurePrivateDir(dir, CODE)).toThrow(refusedWith(/owned by/));
    api.security.set(dir, PROTECTED);
    rmSync(dir, { recursive: true });
    policy.ensurePrivateDir(dir, CODE);
  });

  it('reads a private file from the descriptor it checked; refuses links, writable files, oversize ones', () => {
    const policy = windowsPrivatePaths(api);
    const file = join(root, 'settings.json');
    expect(policy.readPrivateFile(file, CODE)).toBeNull();
    writeFileSync(file, '{"a":1}');
    expect(policy.readPrivateFile(file, CODE)?.toString()).toBe('{"a":1}');
    expect(api.calls.at(-1)).toBe(`GetSecurityInfo(${file})`);
    expect(() => policy.readPrivateFile(file, CODE, { maxBytes: 3 })).toThrow(refusedWith(/is 7 bytes, more than 3/));
    // Readable by users is fine for a file (0644's counterpart); writable is not.
    api.security.set(file, { owner: SYSTEM, dacl: [...PROTECTED.dacl!, allow(USERS, READ)] });
    expect(policy.readPrivateFile(file, CODE)).not.toBeNull();
    api.security.set(file, { owner: SYSTEM, dacl: [...PROTECTED.dacl!, allow(USERS, 0x2)] });
    expect(() => policy.readPrivateFile(file, CODE)).toThrow(refusedWith(/grants S-1-5-32-545 write access \(0x2\)/));
    const link = join(root, 'link.json');
    symlinkSync(file, link);
    expect(() => policy.readPrivateFile(link, CODE)).toThrow(refusedWith(/symbolic link/));
    api.errors.set(`GetSecurityInfo ${file}`, 6);
    expect(() => policy.readPrivateFile(file, CODE)).toThrow(refusedWith(/GetSecurityInfo .* Win32 error 6/));
  });

  it('writes atomically through a temp file that leaves nothing behind', () => {
    const policy = windowsPrivatePaths(api);
    const file = join(root, 'settings.json');
    policy.writeFileAtomic(file, 'one');
    policy.writeFileAtomic(file, Buffer.from('two'));
    api.security.set(file, PROTECTED);
    expect(policy.readPrivateFile(file, CODE)?.toString()).toBe('two');
    expect(readdirSync(root)).toEqual(['settings.json']);
    expect(() => policy.writeFileAtomic(join(root, 'absent', 'x'), 'x')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('protected: owned by SYSTEM or Administrators, writable by nobody else, by path or descriptor', () => {
    const policy = windowsPrivatePaths(api);
    const file = join(root, 'profile.xml');
    writeFileSync(file, '<x/>');
    expect(policy.protectedRefusal(file)).toBeNull();
    api.security.set(file, { owner: ADMINS, dacl: [allow(USERS, READ), allow(ALICE, FULL)] });
    expect(policy.protectedRefusal(file)).toMatch(/grants S-1-5-21-1-2-3-1001 write access/);
    // A secret may not even be readable; a directory on the path only not replaceable.
    api.security.set(file, { owner: ADMINS, dacl: [...PROTECTED.dacl!, allow(USERS, READ)] });
    expect(policy.protectedRefusal(file)).toBeNull();
    expect(policy.protectedRefusal(file, { secret: true })).toMatch(/grants S-1-5-32-545 access/);
    api.security.set(root, { owner: SYSTEM, dacl: [...PROTECTED.dacl!, allow(USERS, 0x2 | 0x4)] });
    expect(policy.protectedRefusal(root, { directory: true })).toBeNull();
    expect(policy.protectedRefusal(root)).toMatch(/write access/);
    // By descriptor: GetSecurityInfo on the open file, not the path.
    const fd = openSync(file, 'r');
    try {
      api.calls.length = 0;
      expect(policy.protectedRefusal(file, { fd })).toBeNull();
      expect(api.calls).toEqual([`GetSecurityInfo(${file})`]);
    } finally {
      closeSync(fd);
    }
    api.errors.set(`GetNamedSecurityInfoW ${file}`, 2);
    expect(policy.protectedRefusal(file)).toMatch(/Win32 error 2 \(ERROR_FILE_NOT_FOUND\)/);
  });

  it("stops the start when its own user's SID cannot be read", () => {
    api.user = { ok: false, error: 5 };
    expect(() => windowsPrivatePaths(api)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INTERNAL,
        message: expect.stringMatching(/TokenUser.*Win32 error 5/),
      }),
    );
  });

  it('trusts the process user as owner: a user process keeps its own files private', () => {
    api.user = { ok: true, value: ALICE };
    const policy = windowsPrivatePaths(api);
    const dir = join(root, 'tray');
    api.security.set(dir, { owner: ALICE, dacl: [allow(ALICE, FULL, 3), allow(SYSTEM, FULL, 3)] });
    policy.ensurePrivateDir(dir, CODE);
    expect(api.calls).toContain(`CreateDirectoryW(${dir}, ${privateDirSddl(ALICE)})`);
  });
});
