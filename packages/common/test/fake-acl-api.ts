/**
 * A recording fake of the Windows ACL calls (acl-api-windows.ts) for driving the Windows
 * private-path policy on Linux: directories are really created (so lstat and open behave), and
 * each path's or descriptor's owner and DACL come from a table the test writes.
 */
import { mkdirSync, readlinkSync } from 'node:fs';
import type { Ace, AclApi, SecurityInfo, Win32 } from '../src/acl-api-windows.js';

export const SYSTEM = 'S-1-5-18';
export const ADMINS = 'S-1-5-32-544';
export const USERS = 'S-1-5-32-545';
export const ALICE = 'S-1-5-21-1-2-3-1001';
/** FILE_ALL_ACCESS. */
export const FULL = 0x1f01ff;
/** FILE_GENERIC_READ | FILE_GENERIC_EXECUTE. */
export const READ = 0x1200a9;

/** An access-allowed entry. */
export const allow = (sid: string, mask: number, flags = 0): Ace => ({ type: 0, flags, mask, sid });
/** The DACL the policy gives the directories it creates. */
export const PROTECTED: SecurityInfo = { owner: ADMINS, dacl: [allow(SYSTEM, FULL, 3), allow(ADMINS, FULL, 3)] };

export class FakeAclApi implements AclApi {
  readonly calls: string[] = [];
  /** Security by path; anything not listed is {@link PROTECTED}. */
  readonly security = new Map<string, SecurityInfo>();
  /** Win32 errors by call and path (`CreateDirectoryW <path>`). */
  readonly errors = new Map<string, number>();
  user: Win32<string> = { ok: true, value: SYSTEM };

  pathSecurity(path: string): Win32<SecurityInfo> {
    this.calls.push(`GetNamedSecurityInfoW(${path})`);
    return this.answer(`GetNamedSecurityInfoW ${path}`, path);
  }

  fdSecurity(fd: number): Win32<SecurityInfo> {
    // The test names files by path; the descriptor's path comes from /proc, as a HANDLE would name its file.
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    this.calls.push(`GetSecurityInfo(${path})`);
    return this.answer(`GetSecurityInfo ${path}`, path);
  }

  createDirectory(path: string, sddl: string): number {
    this.calls.push(`CreateDirectoryW(${path}, ${sddl})`);
    const error = this.errors.get(`CreateDirectoryW ${path}`);
    // ERROR_ALREADY_EXISTS: another creator won the race, and its directory is there.
    if (error === 183) mkdirSync(path);
    if (error !== undefined) return error;
    try {
      mkdirSync(path);
      return 0;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EEXIST' ? 183 : 3;
    }
  }

  processUserSid(): Win32<string> {
    this.calls.push('GetTokenInformation(TokenUser)');
    return this.user;
  }

  private answer(key: string, path: string): Win32<SecurityInfo> {
    const error = this.errors.get(key);
    if (error !== undefined) return { ok: false, error };
    return { ok: true, value: this.security.get(path) ?? PROTECTED };
  }
}
