/**
 * Where the agent's log files live and what a trustworthy log directory is, shared by the writer
 * (log-files.ts) and the reader (log-reader.ts): `agent.log`, then `agent.log.1` (the newest
 * rotated file) up to `agent.log.<keep>`, in a real directory owned by the agent's user that
 * nobody else may write to. The directory is root's 0750 (the unit's LogsDirectory); its
 * files are 0640, so root and the directory's group may read them, nobody else. On Windows (the
 * private-path policy of `@tandem/common/safe-fs`) it is a private directory: a protected DACL
 * of SYSTEM and Administrators, which its files inherit.
 */
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { privatePathPolicy } from '@tandem/common/safe-fs';

/** Name of the file being written. */
export const AGENT_LOG = 'agent.log';
/** Mode of a log directory the agent creates. */
export const LOG_DIR_MODE = 0o750;
/** Mode of every log file. */
export const LOG_FILE_MODE = 0o640;

const ROTATED = /^agent\.log(?:\.([1-9][0-9]{0,3}))?$/;

/** The rotation index of a log file name: 0 for `agent.log`, n for `agent.log.n`, null for anything else. */
export function logFileIndex(name: string): number | null {
  const m = ROTATED.exec(name);
  if (!m) return null;
  return m[1] === undefined ? 0 : Number(m[1]);
}

/** The name of the file with rotation index `index` (0: the one being written). */
export function logFileName(index: number): string {
  return index === 0 ? AGENT_LOG : `${AGENT_LOG}.${index}`;
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

function refuse(path: string, reason: string): never {
  throw new TandemError(ErrorCodes.STATE_FILE, `refusing log directory ${path}: ${reason}`, {
    details: { path, reason },
  });
}

/** Throws E_STATE_FILE unless `st` (from lstat or fstat of `path`) is a safe log directory. */
function checkDirStats(path: string, st: Stats): void {
  if (st.isSymbolicLink()) refuse(path, 'is a symlink');
  if (!st.isDirectory()) refuse(path, 'is not a directory');
  // Running as root: root's. Otherwise (tests, a development run): the running user's.
  if (st.uid !== euid()) refuse(path, `owned by uid ${st.uid}`);
  // Whoever may write the directory may rename files under the writer or plant links in it.
  if ((st.mode & 0o022) !== 0) refuse(path, `mode ${(st.mode & 0o777).toString(8)} is group/world writable`);
}

/**
 * Throws E_STATE_FILE unless `dir` is a real directory (not a symlink) owned by this user and
 * writable by nobody else; an absent directory throws ENOENT.
 */
export function checkLogDir(dir: string): void {
  const policy = privatePathPolicy();
  if (policy.kind === 'windows-acl') return policy.checkPrivateDir(dir, ErrorCodes.STATE_FILE);
  checkDirStats(dir, lstatSync(dir));
}

/**
 * Makes sure `dir` is a safe log directory, creating it 0750 (and missing parents 0755) when
 * absent; throws E_STATE_FILE for an unsafe one.
 */
export function ensureLogDir(dir: string): void {
  const policy = privatePathPolicy();
  if (policy.kind === 'windows-acl') return policy.ensurePrivateDir(dir, ErrorCodes.STATE_FILE);
  try {
    checkLogDir(dir);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: LOG_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // The umask (the unit's is 0077) took bits off; set them on the directory itself, never
  // through a symlink that may have replaced it since mkdir.
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') refuse(dir, code === 'ELOOP' ? 'is a symlink' : 'is not a directory');
    throw err;
  }
  try {
    const st = fstatSync(fd);
    checkDirStats(dir, st);
    if ((st.mode & 0o777) !== LOG_DIR_MODE) fchmodSync(fd, LOG_DIR_MODE);
  } finally {
    closeSync(fd);
  }
}
