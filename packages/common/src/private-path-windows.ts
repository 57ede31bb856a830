/**
 * The Windows private-path policy: a file's mode bits say nothing there (every file reports
 * uid 0 and 0666), so trust comes from the owner SID and the DACL (acl-check-windows.ts), read
 * through {@link AclApi}. Directories the agent creates get an explicit protected DACL — nothing
 * inherited from `%ProgramData%`, whose default lets every user create files and folders — and
 * are checked after creation like any other; files written into them inherit that DACL.
 *
 * Links: `lstat` reports symbolic links and junctions alike, and is checked first. A file is read
 * from the descriptor whose DACL was checked (GetSecurityInfo on its HANDLE), and only when that
 * descriptor is the object `lstat` saw (same volume and file index). Directories are checked by
 * path (GetNamedSecurityInfoW); replacing one in between needs DELETE on it, which the DACL
 * checked grants nobody else.
 *
 * Durability: Windows cannot flush a directory handle, so an atomic write ends with the rename
 * (NTFS journals it); the POSIX policy's directory fsync has no counterpart here.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, TandemError, type ErrorCode } from './errors.js';
import type { AclApi, SecurityInfo, Win32 } from './acl-api-windows.js';
import { aclRefusal, LOCAL_SYSTEM_SID, type Exposure } from './acl-check-windows.js';
import { readAll, replaceViaTemp } from './fs-basics.js';
import type { PrivatePathPolicy, ReadPrivateOptions } from './private-path-policy.js';

/** ERROR_ALREADY_EXISTS: CreateDirectoryW lost a race to another creator (checked afterwards like any). */
const ERROR_ALREADY_EXISTS = 183;
const NAMES: Record<number, string> = {
  2: 'FILE_NOT_FOUND',
  3: 'PATH_NOT_FOUND',
  5: 'ACCESS_DENIED',
  183: 'ALREADY_EXISTS',
};

/** FILE_GENERIC_READ | FILE_GENERIC_EXECUTE: what users get on the parents the agent creates. */
const READ_EXECUTE = '0x1200a9';

/** The DACL of a private directory: full control for SYSTEM, Administrators and `self`; protected, inherited by its files. */
export function privateDirSddl(self: string): string {
  const extra = self === LOCAL_SYSTEM_SID ? '' : `(A;OICI;FA;;;${self})`;
  return `D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)${extra}`;
}

/** The DACL of a parent directory the policy creates: as {@link privateDirSddl}, plus read and traverse for users. */
export function parentDirSddl(self: string): string {
  return `${privateDirSddl(self)}(A;OICI;${READ_EXECUTE};;;BU)`;
}

function win32Text(call: string, path: string, error: number): string {
  const name = NAMES[error];
  return `${call} ${path} failed: Win32 error ${error}${name ? ` (ERROR_${name})` : ''}`;
}

function unsafe(code: ErrorCode, path: string, reason: string): never {
  throw new TandemError(code, `refusing ${path}: ${reason}`, { details: { path, reason } });
}

function absent(path: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** The Windows policy over `api`; reads this process's user SID once (a failure is typed and stops the start). */
export function windowsPrivatePaths(api: AclApi): PrivatePathPolicy {
  const user = api.processUserSid();
  if (!user.ok)
    throw new TandemError(
      ErrorCodes.INTERNAL,
      win32Text('OpenProcessToken/GetTokenInformation(TokenUser)', 'self', user.error),
    );
  const self = user.value;

  const verdict = (path: string, code: ErrorCode, call: string, sec: Win32<SecurityInfo>, exposure: Exposure): void => {
    if (!sec.ok)
      throw new TandemError(code, win32Text(call, path, sec.error), { details: { path, win32Error: sec.error } });
    const why = aclRefusal(sec.value, exposure, self);
    if (why !== null) unsafe(code, path, why);
  };

  const create = (path: string, sddl: string, code: ErrorCode): void => {
    const rc = api.createDirectory(path, sddl);
    if (rc !== 0 && rc !== ERROR_ALREADY_EXISTS)
      throw new TandemError(code, win32Text('CreateDirectoryW', path, rc), { details: { path, win32Error: rc } });
  };

  const checkPrivateDir = (dir: string, code: ErrorCode): void => {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) unsafe(code, dir, 'is a symbolic link or junction');
    if (!st.isDirectory()) unsafe(code, dir, 'is not a directory');
    verdict(dir, code, 'GetNamedSecurityInfoW', api.pathSecurity(dir), 'no-access');
  };

  return {
    kind: 'windows-acl',
    ensurePrivateDir(dir, code) {
      if (absent(dir)) {
        const missing: string[] = [];
        for (let p = dirname(dir); p !== dirname(p) && absent(p); p = dirname(p)) missing.unshift(p);
        for (const p of missing) create(p, parentDirSddl(self), code);
        create(dir, privateDirSddl(self), code);
      }
      checkPrivateDir(dir, code);
    },
    checkPrivateDir,
    readPrivateFile(path: string, code: ErrorCode, options: ReadPrivateOptions = {}): Buffer | null {
      let seen;
      try {
        seen = lstatSync(path, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      if (seen.isSymbolicLink()) unsafe(code, path, 'is a symbolic link or junction');
      if (!seen.isFile()) unsafe(code, path, 'is not a regular file');
      const fd = openSync(path, constants.O_RDONLY);
      try {
        const st = fstatSync(fd, { bigint: true });
        if (st.ino !== seen.ino || st.dev !== seen.dev) unsafe(code, path, 'was replaced while being opened');
        verdict(path, code, 'GetSecurityInfo', api.fdSecurity(fd), 'no-write');
        const max = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
        const size = Number(st.size);
        if (size > max) unsafe(code, path, `is ${size} bytes, more than ${max}`);
        const data = readAll(fd, size, max + 1);
        if (data.length > max) unsafe(code, path, `grew past ${max} bytes while being read`);
        return data;
      } finally {
        closeSync(fd);
      }
    },
    writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): void {
      // CREATE_NEW: an existing name, link or not, fails the open instead of being followed.
      replaceViaTemp(path, data, mode);
    },
    protectedRefusal(path, check = {}) {
      const sec = check.fd === undefined ? api.pathSecurity(path) : api.fdSecurity(check.fd);
      if (!sec.ok)
        return win32Text(check.fd === undefined ? 'GetNamedSecurityInfoW' : 'GetSecurityInfo', path, sec.error);
      return aclRefusal(sec.value, check.secret ? 'no-access' : check.directory ? 'no-replace' : 'no-write', self);
    },
  };
}
