/**
 * File operations for root-owned state (`@tandem/common/safe-fs`): a private directory that
 * must not be a symlink or group/world accessible, reads that refuse symlinks (O_NOFOLLOW on
 * the open itself, so there is no check-then-open race) and atomic writes (temp file in the
 * same directory, fsync, rename, fsync of the directory). The tunnel's network journal and the
 * agent's saved settings both live in such files; each caller names the error code a refusal
 * carries, so a refused journal stays E_NETCONFIG and a refused settings file E_STATE_FILE.
 * A subpath of its own, so the browser-safe main entry of common never pulls in node:fs.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TandemError, type ErrorCode } from './errors.js';

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

function unsafe(code: ErrorCode, path: string, reason: string): never {
  throw new TandemError(code, `refusing ${path}: ${reason}`, { details: { path, reason } });
}

/**
 * Makes sure `dir` exists as a real directory owned by this user with mode 0700, creating it
 * (and missing parents) if needed. Refuses a symlink, a non-directory, a foreign owner or any
 * group/world permission bit.
 */
export function ensurePrivateDir(dir: string, code: ErrorCode): void {
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
export function checkPrivateDir(dir: string, code: ErrorCode): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) unsafe(code, dir, 'is a symlink');
  if (!st.isDirectory()) unsafe(code, dir, 'is not a directory');
  if (st.uid !== euid()) unsafe(code, dir, `owned by uid ${st.uid}`);
  if ((st.mode & 0o077) !== 0) unsafe(code, dir, `mode ${(st.mode & 0o777).toString(8)} is not 0700`);
}

/** Limits of {@link readPrivateFile}. */
export interface ReadPrivateOptions {
  /** Refuse a file larger than this many bytes instead of reading it into memory. */
  maxBytes?: number;
}

/**
 * Reads a regular file without following a symlink at its last component; refuses (with
 * `code`) files owned by someone else, writable by group/world or above `maxBytes`. Returns
 * null when the file does not exist.
 */
export function readPrivateFile(path: string, code: ErrorCode, options: ReadPrivateOptions = {}): Buffer | null {
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
 * Reads from an open fd until end of file or `limit` bytes (size is a hint; the file may be
 * shorter or longer than it).
 */
export function readAll(fd: number, hint: number, limit = Number.MAX_SAFE_INTEGER): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const buf = Buffer.allocUnsafe(Math.min(Math.max(4096, hint - total + 1), limit - total));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n <= 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return Buffer.concat(chunks, total);
}

/**
 * Atomically replaces `path` with `data` (mode `mode`): a uniquely named temp file in the same
 * directory, created O_EXCL|O_NOFOLLOW, fsynced, renamed over the target, then the directory is
 * fsynced so the rename survives a power cut.
 */
export function writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** fsyncs a directory so entries created, renamed or removed in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes a file if present (never follows a symlink: unlink acts on the link itself). */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
