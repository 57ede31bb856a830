/**
 * The plain file helpers every private-path policy shares (`@tandem/common/safe-fs` re-exports
 * them): a bounded read from an open descriptor, a directory fsync, an unlink that never follows
 * a link. No ownership rules here: those are the policy's (private-path.ts).
 */
import { closeSync, constants, fsyncSync, openSync, readSync, unlinkSync } from 'node:fs';

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
