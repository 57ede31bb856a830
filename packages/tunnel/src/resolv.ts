/**
 * Snapshot and exact restore of resolv.conf. vpnc-script's own backup lives in
 * /var/run/vpnc/resolv.conf-backup.<pid> and is only restored on a clean `disconnect`; after a
 * crash openconnect leaves the VPN's (now unreachable) DNS in place. We keep the
 * original bytes in our journal and put them back ourselves.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '@tandem/common/safe-fs';

/** What resolv.conf looked like: a file, a symlink (with its target) or absent. */
export interface ResolvConfSnapshot {
  path: string;
  kind: 'file' | 'symlink' | 'missing';
  /** Symlink target exactly as stored in the link. */
  target?: string;
  /** Contents (read through the symlink) as base64; absent for a missing file or dangling link. */
  contentBase64?: string;
}

/** Default resolv.conf location. */
export const RESOLV_CONF = '/etc/resolv.conf';

function readContent(path: string): string | undefined {
  try {
    return readFileSync(path).toString('base64');
  } catch {
    return undefined;
  }
}

/** Records the current state of resolv.conf. */
export function snapshotResolvConf(path = RESOLV_CONF): ResolvConfSnapshot {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return { path, kind: 'missing' };
  }
  const content = readContent(path);
  if (st.isSymbolicLink())
    return {
      path,
      kind: 'symlink',
      target: readlinkSync(path),
      ...(content === undefined ? {} : { contentBase64: content }),
    };
  return { path, kind: 'file', ...(content === undefined ? {} : { contentBase64: content }) };
}

/** True when the current resolv.conf matches the snapshot (kind, link target and bytes). */
export function resolvConfMatches(snap: ResolvConfSnapshot): boolean {
  const now = snapshotResolvConf(snap.path);
  return now.kind === snap.kind && now.target === snap.target && now.contentBase64 === snap.contentBase64;
}

/** Overwrites a regular file in place, keeping its inode, owner and mode. */
function overwriteInPlace(path: string, data: Buffer, follow: boolean): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC | (follow ? 0 : constants.O_NOFOLLOW));
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function replaceWithSymlink(path: string, target: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.lnk-${process.pid}-${randomBytes(6).toString('hex')}`);
  symlinkSync(target, tmp);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Puts resolv.conf back to the snapshot. A regular file is rewritten in place rather than
 * renamed over, because /etc/resolv.conf is often a bind mount (network namespaces, containers)
 * where rename fails with EBUSY; a crash halfway is repaired by the next (idempotent) recover.
 * Returns true when something had to change.
 */
export function restoreResolvConf(snap: ResolvConfSnapshot): boolean {
  if (resolvConfMatches(snap)) return false;
  const { path } = snap;
  let current: ReturnType<typeof lstatSync> | undefined;
  try {
    current = lstatSync(path);
  } catch {
    current = undefined;
  }
  const data = snap.contentBase64 === undefined ? undefined : Buffer.from(snap.contentBase64, 'base64');
  if (snap.kind === 'missing') {
    if (current) unlinkSync(path);
    return true;
  }
  if (snap.kind === 'symlink') {
    if (!current?.isSymbolicLink() || readlinkSync(path) !== snap.target) replaceWithSymlink(path, snap.target ?? '');
    // vpnc-script's `echo > /etc/resolv.conf` writes through the link into its target.
    if (data && readContent(path) !== snap.contentBase64) overwriteInPlace(path, data, true);
    return true;
  }
  if (current?.isFile()) overwriteInPlace(path, data ?? Buffer.alloc(0), false);
  else {
    if (current) unlinkSync(path);
    writeFileAtomic(path, data ?? Buffer.alloc(0), 0o644);
  }
  return true;
}
