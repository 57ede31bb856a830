/**
 * Win32 error codes the Windows routes-and-DNS backend tells apart, and the one way a failed call
 * becomes a typed error: E_NETCONFIG naming the call, what it was about, and the number with its
 * symbolic name, so a support engineer can look it up.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** The documented codes the backend handles (winerror.h). */
export const Win32 = {
  SUCCESS: 0,
  FILE_NOT_FOUND: 2,
  ACCESS_DENIED: 5,
  NOT_SUPPORTED: 50,
  INVALID_PARAMETER: 87,
  PROC_NOT_FOUND: 127,
  NOT_FOUND: 1168,
  NETWORK_UNREACHABLE: 1231,
  HOST_UNREACHABLE: 1232,
  OBJECT_ALREADY_EXISTS: 5010,
} as const;

const NAMES = new Map<number, string>(Object.entries(Win32).map(([name, code]) => [code, `ERROR_${name}`]));

/** `ERROR_ACCESS_DENIED` for 5, or `unknown` for a code not in {@link Win32}. */
export function win32Name(status: number): string {
  return NAMES.get(status) ?? 'unknown';
}

/** "Already gone" for a delete: the object or the key does not exist (any more). */
export function isGone(status: number): boolean {
  return status === Win32.NOT_FOUND || status === Win32.FILE_NOT_FOUND;
}

/** Text for one failed call: `CreateIpForwardEntry2 10.1.0.0/16: Win32 error 5 (ERROR_ACCESS_DENIED)`. */
export function win32Text(call: string, subject: string, status: number): string {
  const why = status === Win32.PROC_NOT_FOUND ? ', not in this Windows version' : '';
  return `${call} ${subject}: Win32 error ${status} (${win32Name(status)}${why})`;
}

/** The typed error for one failed call. */
export function win32Error(call: string, subject: string, status: number): TandemError {
  return new TandemError(ErrorCodes.NETCONFIG, win32Text(call, subject, status), {
    details: { call, win32: status, name: win32Name(status) },
  });
}
