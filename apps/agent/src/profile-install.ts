/**
 * Replacing an installed profile atomically: the new bytes go to a temporary file in the same
 * directory (created exclusively, never through a link, mode 0644, owned by root), are flushed
 * to disk, and the temporary file is renamed over the target; the directory is flushed too. A
 * reader — the agent at its next start, a SIGHUP reload — sees the old file or the new one,
 * never a part, and a crash leaves at most a `.tmp` file the profile loader never reads (it
 * reads `*.xml` only).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';

function refused(target: string, reason: string): TandemError {
  return new TandemError(ErrorCodes.PROFILE_UNSAFE_FILE, `${target}: ${reason}`, { details: { file: target, reason } });
}

/**
 * The directory `target` goes into, created (mode 0755) when it is missing and its parent
 * exists (the `mgmttun/` of a fresh profile directory), refused unless it is a real directory
 * owned by root that group and others cannot write: the loader would refuse what we write there.
 */
async function checkedDir(target: string): Promise<string> {
  const dir = dirname(target);
  await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw refused(target, `${dir} is not a directory (symbolic links are refused)`);
  if (st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw refused(target, `${dir} is not owned by root or is writable by group/others`);
  return dir;
}

/** Writes `bytes` to `target` atomically (see the module comment); rejects and leaves `target` as it was on any failure. */
export async function installProfileFile(target: string, bytes: Buffer): Promise<void> {
  const dir = await checkedDir(target);
  const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const fh = await open(temp, flags, 0o644);
  try {
    try {
      await fh.writeFile(bytes);
      // The umask may have taken bits away; the loader wants exactly root and 0644.
      await fh.chmod(0o644);
      if (process.getuid?.() === 0) await fh.chown(0, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  const dh = await open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
