/**
 * File operations for the agent's own state (`@tandem/common/safe-fs`): a private directory
 * that must not be a symlink or accessible to others, reads that refuse links and files others
 * may write, and atomic writes (temp file in the same directory, flushed, renamed). The tunnel's
 * network journal and the agent's saved settings both live in such files; each caller names the
 * error code a refusal carries, so a refused journal stays E_NETCONFIG and a refused settings
 * file E_STATE_FILE. What "private" means is the platform's (private-path.ts): owner and mode
 * bits on Linux and macOS, owner SID and DACL on Windows.
 * A subpath of its own, so the browser-safe main entry of common never pulls in node:fs.
 */
import type { ErrorCode } from './errors.js';
import { privatePathPolicy, type ReadPrivateOptions } from './private-path.js';

export { fsyncDir, readAll, removeFile } from './fs-basics.js';
export {
  PRIVATE_PATH_POLICIES,
  privatePathPolicy,
  selectPrivatePathPolicy,
  usePrivatePathPolicy,
  type PrivatePathPlatform,
  type PrivatePathPolicy,
  type ProtectedCheck,
  type ReadPrivateOptions,
} from './private-path.js';

/**
 * Makes sure `dir` exists as a real directory private to this process's user, creating it (and
 * missing parents) if needed. Refuses a symlink, a non-directory, a foreign owner or access for
 * anyone else (POSIX: any group/world permission bit).
 */
export function ensurePrivateDir(dir: string, code: ErrorCode): void {
  privatePathPolicy().ensurePrivateDir(dir, code);
}

/** Throws `code` unless `dir` is a real private directory of this user (an absent one throws ENOENT). */
export function checkPrivateDir(dir: string, code: ErrorCode): void {
  privatePathPolicy().checkPrivateDir(dir, code);
}

/**
 * Reads a regular file without following a link; refuses (with `code`) files owned by someone
 * else, writable by others or above `maxBytes`. Returns null when the file does not exist.
 */
export function readPrivateFile(path: string, code: ErrorCode, options: ReadPrivateOptions = {}): Buffer | null {
  return privatePathPolicy().readPrivateFile(path, code, options);
}

/**
 * Atomically replaces `path` with `data` (mode `mode` on POSIX): a uniquely named temp file in
 * the same directory, created exclusively, flushed, renamed over the target; on POSIX the
 * directory is fsynced too so the rename survives a power cut.
 */
export function writeFileAtomic(path: string, data: Buffer | string, mode = 0o600): void {
  privatePathPolicy().writeFileAtomic(path, data, mode);
}
