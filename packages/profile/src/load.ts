/**
 * Reading profile files from disk. The file is opened once and everything (type check,
 * ownership, size, content) comes from that descriptor, so a file swapped between check and
 * read is not a concern. Opening with O_NONBLOCK keeps a FIFO planted in
 * place of a profile from blocking the reader; it is then refused as a non-regular file.
 * On Windows (the private-path policy of `@tandem/common/safe-fs`) ownership is the owner SID
 * and the DACL, read from the same descriptor; there is no O_NOFOLLOW, so the path must name the
 * very file that was opened, not a link to it.
 */
import { constants } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { privatePathPolicy, type PrivatePathPolicy } from '@tandem/common/safe-fs';
import { DEFAULT_XML_LIMITS, invalidXml } from '@tandem/xml';
import type { AnyParsedDocument, ParseOptions } from './parse.js';
import { parseAnyDocument } from './parse.js';

/** Options for {@link loadProfileFile}. */
export interface LoadOptions extends Omit<ParseOptions, 'file'> {
  /**
   * Agent mode: refuse symlinks, and refuse the file or any parent directory that is not owned
   * by root or is writable by group or others (like sshd StrictModes).
   */
  requireRootOwned?: boolean;
}

function unsafe(file: string, reason: string): TandemError {
  return new TandemError(ErrorCodes.PROFILE_UNSAFE_FILE, `${file}: ${reason}`, { details: { file, reason } });
}

function ioError(file: string, err: unknown): TandemError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  if (code === 'ELOOP' || code === 'EMLINK') return unsafe(file, 'is a symbolic link (refused in agent mode)');
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot read (${code})`;
  return new TandemError(ErrorCodes.PROFILE_IO, `${file}: ${reason}`, {
    cause: err,
    details: { file, reason, errno: code },
  });
}

function trusted(uid: number, mode: number): boolean {
  return uid === 0 && (mode & 0o022) === 0;
}

async function checkParents(file: string): Promise<void> {
  let dir = dirname(resolve(file));
  for (;;) {
    const st = await stat(dir);
    if (!trusted(st.uid, st.mode)) {
      throw unsafe(file, `directory ${dir} is not root-owned or is writable by group/others`);
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/** The agent-mode checks where trust is an owner SID and a DACL (Windows). */
async function checkAcls(policy: PrivatePathPolicy, path: string, fh: FileHandle): Promise<void> {
  const seen = await lstat(path, { bigint: true });
  const opened = await fh.stat({ bigint: true });
  if (seen.isSymbolicLink() || seen.ino !== opened.ino || seen.dev !== opened.dev)
    throw unsafe(path, 'is a symbolic link or was replaced while being opened (refused in agent mode)');
  const why = policy.protectedRefusal(path, { fd: fh.fd });
  if (why !== null) throw unsafe(path, why);
  let dir = dirname(resolve(path));
  for (;;) {
    const refusal = policy.protectedRefusal(dir, { directory: true });
    if (refusal !== null) throw unsafe(path, `directory ${dir} ${refusal}`);
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Reads a regular file of at most `maxBytes` (default 1 MiB) through one descriptor.
 * Throws E_PROFILE_IO (missing, unreadable), E_PROFILE_UNSAFE_FILE (not a regular file,
 * symlink or bad ownership in agent mode) or E_XML_INVALID (over the XML reader's size cap).
 */
export async function readProfileBytes(path: string, opts: LoadOptions = {}): Promise<Buffer> {
  const maxBytes = opts.limits?.maxBytes ?? DEFAULT_XML_LIMITS.maxBytes;
  const noFollow = opts.requireRootOwned ? (constants.O_NOFOLLOW ?? 0) : 0;
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | noFollow);
  } catch (err) {
    throw ioError(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw unsafe(path, 'is not a regular file');
    if (opts.requireRootOwned) {
      const policy = privatePathPolicy();
      if (policy.kind === 'windows-acl') await checkAcls(policy, path, fh);
      else {
        if (!trusted(st.uid, st.mode)) throw unsafe(path, 'is not owned by root or is writable by group/others');
        await checkParents(path);
      }
    }
    if (st.size > maxBytes)
      throw invalidXml(path, 0, 0, `document is ${st.size} bytes; the limit is ${maxBytes} bytes`);
    // One spare byte detects a file that grows after fstat.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > st.size) {
        // A profile replaced or appended to while being read is refused rather than half-read.
        if (total > maxBytes) throw invalidXml(path, 0, 0, `file grew beyond ${maxBytes} bytes while being read`);
        throw new TandemError(ErrorCodes.PROFILE_IO, `${path}: file changed while being read`, {
          details: { file: path, reason: 'changed while being read' },
        });
      }
    }
    return buf.subarray(0, total);
  } catch (err) {
    if (err instanceof TandemError) throw err;
    throw ioError(path, err);
  } finally {
    await fh.close();
  }
}

/**
 * Loads and parses a profile or local policy file (kind chosen by its root element). A file
 * named VpnMgmtTunProfile.xml or inside a `mgmttun` directory is a management tunnel profile
 * unless `managementTunnel` says otherwise.
 */
export async function loadProfileFile(path: string, opts: LoadOptions = {}): Promise<AnyParsedDocument> {
  const bytes = await readProfileBytes(path, opts);
  const parseOpts: ParseOptions = { file: path };
  if (opts.managementTunnel !== undefined) parseOpts.managementTunnel = opts.managementTunnel;
  if (opts.limits !== undefined) parseOpts.limits = opts.limits;
  return parseAnyDocument(bytes, parseOpts);
}
