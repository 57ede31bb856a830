/**
 * The plain file helpers every private-path policy shares (`@tandem/common/safe-fs` re-exports
 * them): a bounded read from an open descriptor, a directory fsync, an unlink that never follows
 * a link, a replace through a temp file. No ownership rules here: those are the policy's
 * (private-path.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

/**
 * Replaces `path` with `data`: a new temp file beside it (created exclusively with `mode`, plus
 * `flags` such as O_NOFOLLOW), written, flushed and renamed over `path`. The temp file never
 * outlives a failure. Making the rename itself durable (the directory's fsync) is the caller's.
 */
export function replaceViaTemp(path: string, data: Buffer | string, mode: number, flags = 0): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | flags, mode);
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
}
