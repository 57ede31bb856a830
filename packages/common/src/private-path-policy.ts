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

/** What {@link PrivatePathPolicy.protectedRefusal} checks. */
export interface ProtectedCheck {
  /** An open descriptor of the file: checked instead of the path (no swap in between). */
  fd?: number;
  /**
   * A directory on the way to a trusted file. POSIX: the same rule as a file. Windows: only
   * rights that remove, rename or re-secure entries count, as creating one is harmless there
   * (the new file is its creator's, and refused as such).
   */
  directory?: boolean;
  /** A secret (a passphrase file): others may not even read it (POSIX: no group/world bit at all). */
  secret?: boolean;
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
   * Null when `path` (an existing file or directory) belongs to root — SYSTEM, Administrators or
   * TrustedInstaller on Windows — and nobody else may write it; else the reason. For what the
   * agent reads but an administrator installs: profiles and their directories, CA bundles, the
   * machine-store passphrase.
   */
  protectedRefusal(path: string, check?: ProtectedCheck): string | null;
}
