/**
 * Typed errors with stable codes.
 *
 * Every failure that can reach a user, a log or the IPC boundary is a {@link TandemError}
 * whose `code` never changes between releases; messages may be reworded. Callers branch on
 * `code` (or use {@link isTandemError}), never on message text.
 */

/** Stable error codes. Add new codes at the end of their group; never rename one. */
export const ErrorCodes = {
  // usage and input
  USAGE: 'E_USAGE',
  INTERNAL: 'E_INTERNAL',
  // profiles
  PROFILE_INVALID: 'E_PROFILE_INVALID',
  PROFILE_IO: 'E_PROFILE_IO',
  PROFILE_UNSAFE_FILE: 'E_PROFILE_UNSAFE_FILE',
  // XML documents (profiles, gateway answers): not well-formed, a DTD, bad encoding or over a cap
  XML_INVALID: 'E_XML_INVALID',
  // certificates
  CERT_NOT_FOUND: 'E_CERT_NOT_FOUND',
  CERT_INVALID: 'E_CERT_INVALID',
  CERT_STORE: 'E_CERT_STORE',
  CERT_KEY: 'E_CERT_KEY',
  CERT_SIGN: 'E_CERT_SIGN',
  // gateway / protocol
  GATEWAY_UNREACHABLE: 'E_GATEWAY_UNREACHABLE',
  GATEWAY_TIMEOUT: 'E_GATEWAY_TIMEOUT',
  SERVER_CERT_UNTRUSTED: 'E_SERVER_CERT_UNTRUSTED',
  PROTOCOL: 'E_PROTOCOL',
  AUTH_REJECTED: 'E_AUTH_REJECTED',
  AUTH_UNSUPPORTED: 'E_AUTH_UNSUPPORTED',
  COOKIE_REJECTED: 'E_COOKIE_REJECTED',
  TUNNEL_CLOSED: 'E_TUNNEL_CLOSED',
  /** The user declined the gateway's login banner (or did not accept it in time): no tunnel. */
  BANNER_DECLINED: 'E_BANNER_DECLINED',
  /**
   * The DTLS data channel failed (handshake refused or timed out, a version or cipher we did not
   * offer, the UDP path died): data keeps flowing over CSTP, so this never ends a tunnel.
   */
  DTLS: 'E_DTLS',
  // local system
  TUN: 'E_TUN',
  NETCONFIG: 'E_NETCONFIG',
  PERMISSION: 'E_PERMISSION',
  BUSY: 'E_BUSY_IN_TRANSITION',
  VERSION_MISMATCH: 'E_VERSION_MISMATCH',
  IPC_FRAME: 'E_IPC_FRAME',
  IPC_METHOD: 'E_IPC_METHOD',
  IPC_PARAMS: 'E_IPC_PARAMS',
  IPC_LIMIT: 'E_IPC_LIMIT',
  IPC_CLOSED: 'E_IPC_CLOSED',
  IPC_TIMEOUT: 'E_IPC_TIMEOUT',
  IPC_UNTRUSTED_SOCKET: 'E_IPC_UNTRUSTED_SOCKET',
  /**
   * One of the agent's own files — the saved settings, the log files — or its directory is
   * unsafe (a symlink, foreign, writable by others), too large or not in the expected format.
   */
  STATE_FILE: 'E_STATE_FILE',
  // diagnostic bundles
  /** A diagnostic bundle cannot be written or read: I/O, not a ZIP, no or unreadable manifest, unknown schema. */
  DIAG_ARCHIVE: 'E_DIAG_ARCHIVE',
  /** A diagnostic bundle's contents differ from its manifest: a changed, missing or unlisted file. */
  DIAG_MISMATCH: 'E_DIAG_MISMATCH',
} as const;

/** One of the stable error code strings in {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const BRAND = Symbol.for('tandem.error');

/** Options accepted by {@link TandemError}. */
export interface TandemErrorOptions {
  /** The lower-level error that caused this one. */
  cause?: unknown;
  /** Structured, non-secret details (file, line, column, reason…) for JSON output. */
  details?: Record<string, unknown>;
}

/** Base class of every error Tandem raises on purpose. */
export class TandemError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured, non-secret details. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TandemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TandemError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain object safe to serialise (no stack, no cause chain). */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True when `err` is a {@link TandemError} (optionally with the given code). Works across
 * duplicate copies of this package because it checks a global symbol brand, not the class.
 */
export function isTandemError(err: unknown, code?: ErrorCode): err is TandemError {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (err as TandemError).code === code;
}

/** Wraps any thrown value into a TandemError, keeping TandemErrors as they are. */
export function toTandemError(err: unknown, code: ErrorCode = ErrorCodes.INTERNAL): TandemError {
  if (isTandemError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TandemError(code, message, { cause: err });
}
