/**
 * The private-path seam's interface (selection: private-path.ts): one platform's rules for the
 * agent's own files and directories.
 */
import type { ErrorCode } from './errors.js';

/** Limits of {@link PrivatePathPolicy.readPrivateFile}. */
export interface ReadPrivateOptions {
  /** Refuse a file larger than this many bytes instead of reading it into memory. */
  maxBytes?: number;
}

/** One platform's rules for private files and directories; every refusal is a TandemError with the caller's code. */
export interface PrivatePathPolicy {
  /** `posix`: owner uid and mode bits; `windows-acl`: owner SID and DACL. */
  readonly kind: 'posix' | 'windows-acl';
  /**
   * Makes sure `dir` exists, private to this process's user (POSIX: 0700; Windows: a protected
   * DACL of SYSTEM, Administrators and this user), creating it and missing parents if needed.
   */
  ensurePrivateDir(dir: string, code: ErrorCode): void;
  /** Throws `code` unless `dir` is a real private directory of this user (an absent one throws ENOENT). */
  checkPrivateDir(dir: string, code: ErrorCode): void;
  /**
   * Reads a regular file that is not a link, owned by this user (or SYSTEM/Administrators on
   * Windows) and writable by nobody else; null when it does not exist.
   */
  readPrivateFile(path: string, code: ErrorCode, options?: ReadPrivateOptions): Buffer | null;
  /**
   * Replaces `path` with `data` atomically (temp file in the same directory, flushed, renamed).
   * `mode` applies on POSIX; on Windows the file takes its directory's inheritable DACL.
   */
  writeFileAtomic(path: string, data: Buffer | string, mode?: number): void;
  /**
   * Null when `path` (an existing file or directory; `fd`, when given, an open descriptor of it)
   * belongs to root — SYSTEM or Administrators on Windows — and nobody else may write it; else
   * the reason. For files the agent reads but does not own by name: profiles, CA bundles.
   */
  protectedRefusal(path: string, fd?: number): string | null;
}
