/**
 * Why a session failed or ended: an enumerated cause ("failure is a state with an enumerated
 * cause"), derived from the stable error codes the ports reject with.
 */
import { ErrorCodes, isTandemError } from '@tandem/common';

/** Every reason a session can sit in `error` (or in `idle` after the gateway ended it). */
export type SessionCause =
  | 'auth-rejected'
  | 'auth-unsupported'
  | 'server-cert-untrusted'
  | 'gateway-unreachable'
  | 'cookie-rejected'
  | 'reconnect-timeout'
  | 'tun-failed'
  | 'netconfig-failed'
  | 'no-certificate'
  | 'protocol-error'
  | 'gateway-ended'
  /** The user declined the gateway's login banner (or did not accept it in time). */
  | 'banner-declined'
  | 'internal';

/** A cause with a human-readable message (never containing secrets). */
export interface CauseDetail {
  cause: SessionCause;
  message: string;
}

const BY_CODE: Partial<Record<string, SessionCause>> = {
  [ErrorCodes.AUTH_REJECTED]: 'auth-rejected',
  [ErrorCodes.AUTH_UNSUPPORTED]: 'auth-unsupported',
  [ErrorCodes.SERVER_CERT_UNTRUSTED]: 'server-cert-untrusted',
  [ErrorCodes.GATEWAY_UNREACHABLE]: 'gateway-unreachable',
  [ErrorCodes.GATEWAY_TIMEOUT]: 'gateway-unreachable',
  [ErrorCodes.TUNNEL_CLOSED]: 'gateway-unreachable',
  [ErrorCodes.COOKIE_REJECTED]: 'cookie-rejected',
  [ErrorCodes.TUN]: 'tun-failed',
  [ErrorCodes.NETCONFIG]: 'netconfig-failed',
  [ErrorCodes.CERT_NOT_FOUND]: 'no-certificate',
  [ErrorCodes.CERT_INVALID]: 'no-certificate',
  [ErrorCodes.CERT_STORE]: 'no-certificate',
  [ErrorCodes.CERT_KEY]: 'no-certificate',
  [ErrorCodes.CERT_SIGN]: 'no-certificate',
  [ErrorCodes.PROTOCOL]: 'protocol-error',
  [ErrorCodes.XML_INVALID]: 'protocol-error',
  [ErrorCodes.BANNER_DECLINED]: 'banner-declined',
};

/** Maps a port's rejection to a cause; anything untyped is `internal`. */
export function causeOf(err: unknown): CauseDetail {
  const message = err instanceof Error ? err.message : String(err);
  if (!isTandemError(err)) return { cause: 'internal', message };
  return { cause: BY_CODE[err.code] ?? 'internal', message };
}

/** Causes worth another cookie reconnect: the gateway may come back, nothing was refused. */
export function isTransient(cause: SessionCause): boolean {
  return cause === 'gateway-unreachable' || cause === 'protocol-error';
}
