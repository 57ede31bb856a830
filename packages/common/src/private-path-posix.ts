/**
 * The POSIX private-path policy (Linux and macOS): owner uid and mode bits. A private directory
 * must not be a symlink or group/world accessible, reads refuse symlinks (O_NOFOLLOW on the open
 * itself, so there is no check-then-open race) and atomic writes go through a temp file in the
 * same directory, fsync, rename, fsync of the directory.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { TandemError, type ErrorCode } from './errors.js';
import { fsyncDir, readAll, replaceViaTemp } from './fs-basics.js';
import type { PrivatePathPolicy, ProtectedCheck, ReadPrivateOptions } from './private-path-policy.js';

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

function unsafe(code: ErrorCode, path: string, reason: string): never {
  throw new TandemError(code, `refusing ${path}: ${reason}`, { details: { path, reason } });
}

/**
 * Makes sure `dir` exists as a real directory owned by this user with mode 0700, creating it
 * (and missing parents) if needed. Refuses a symlink, a non-directory, a foreign owner or any
 * group/world permission bit.
 */
function ensurePrivateDir(dir: string, code: ErrorCode): void {
  try {
    lstatSync(dir);
  } catch {
    mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  checkPrivateDir(dir, code);
}

/** Throws `code` unless `dir` is a real 0700 directory owned by this user (an absent one throws ENOENT). */
function checkPrivateDir(dir: string, code: ErrorCode): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) unsafe(code, dir, 'is a symlink');
  if (!st.isDirectory()) unsafe(code, dir, 'is not a directory');
  if (st.uid !== euid()) unsafe(code, dir, `owned by uid ${st.uid}`);
  if ((st.mode & 0o077) !== 0) unsafe(code, dir, `mode ${(st.mode & 0o777).toString(8)} is not 0700`);
}

/**
 * Reads a regular file without following a symlink at its last component; refuses (with
 * `code`) files owned by someone else, writable by group/world or above `maxBytes`. Returns
 * null when the file does not exist.
 */
function readPrivateFile(path: string, code: ErrorCode, options: ReadPrivateOptions = {}): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return null;
    if (errno === 'ELOOP') unsafe(code, path, 'is a symlink');
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const max = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    if (!st.isFile()) unsafe(code, path, 'is not a regular file');
    if (st.uid !== euid()) unsafe(code, path, `owned by uid ${st.uid}`);
    if ((st.mode & 0o022) !== 0) unsafe(code, path, 'is group/world writable');
    if (st.size > max) unsafe(code, path, `is ${st.size} bytes, more than ${max}`);
    const data = readAll(fd, st.size, max + 1);
    // The file may have grown since fstat: the read stops one byte past the limit to notice.
    if (data.length > max) unsafe(code, path, `grew past ${max} bytes while being read`);
    return data;
  } finally {
    closeSync(fd);
  }
}

/**
 * Atomically replaces `path` with `data` (mode `mode`): a uniquely named temp file in the same
 * directory, created O_EXCL|O_NOFOLLOW, fsynced, renamed over the target, then the directory is
 * fsynced so the rename survives a power cut.
 */
function writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): void {
  replaceViaTemp(path, data, mode, constants.O_NOFOLLOW);
  fsyncDir(dirname(path));
}

/** Null when `path` (lstat, or fstat of the check's fd) is root's and writable (a secret: accessible) by nobody else. */
function protectedRefusal(path: string, check: ProtectedCheck = {}): string | null {
  const st = check.fd === undefined ? lstatSync(path) : fstatSync(check.fd);
  if (check.secret)
    return st.uid === 0 && (st.mode & 0o077) === 0 ? null : 'is not owned by root or is accessible to group/others';
  return st.uid === 0 && (st.mode & 0o022) === 0 ? null : 'is not owned by root or is writable by group/others';
}

/** Owner uid and mode bits: the rules Linux and macOS share. */
export const posixPrivatePaths: PrivatePathPolicy = {
  kind: 'posix',
  ensurePrivateDir,
  checkPrivateDir,
  readPrivateFile,
  writeFileAtomic,
  protectedRefusal,
};
