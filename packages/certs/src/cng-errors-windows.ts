/**
 * The failure codes of CryptoAPI and CNG the Windows certificate store backend tells apart
 * (winerror.h: NTE_*, CRYPT_E_*, SCARD_*, and the plain Win32 ones), and the one way a failed
 * call becomes a typed error: the call, what it was about, the code in hex with its symbolic
 * name and, for the codes a user meets, what it means — so a support engineer can look it up.
 */
import { ErrorCodes, TandemError, type ErrorCode } from '@tandem/common';

/** The documented codes, as unsigned 32-bit numbers (GetLastError and SECURITY_STATUS alike). */
export const CngStatus = {
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_NO_MORE_FILES: 18,
  NTE_BAD_ALGID: 0x80090008,
  NTE_BAD_FLAGS: 0x80090009,
  NTE_BAD_KEY_STATE: 0x8009000b,
  NTE_NO_KEY: 0x8009000d,
  NTE_PERM: 0x80090010,
  NTE_BAD_PROVIDER: 0x80090013,
  NTE_BAD_KEYSET: 0x80090016,
  NTE_SILENT_CONTEXT: 0x80090022,
  NTE_INVALID_HANDLE: 0x80090026,
  NTE_INVALID_PARAMETER: 0x80090027,
  NTE_BUFFER_TOO_SMALL: 0x80090028,
  NTE_NOT_SUPPORTED: 0x80090029,
  NTE_USER_CANCELLED: 0x80090036,
  CRYPT_E_NOT_FOUND: 0x80092004,
  CRYPT_E_NO_KEY_PROPERTY: 0x8009200b,
  SCARD_E_NO_SMARTCARD: 0x8010000c,
  SCARD_W_WRONG_CHV: 0x8010006b,
  SCARD_W_CANCELLED_BY_USER: 0x8010006e,
} as const;

const NAMES = new Map<number, string>(Object.entries(CngStatus).map(([name, code]) => [code, name]));

/** What the codes a user meets mean, in plain words. */
const MEANING: Partial<Record<keyof typeof CngStatus, string>> = {
  ERROR_ACCESS_DENIED: 'access denied',
  NTE_BAD_KEYSET: 'the private key is missing from its key storage provider',
  NTE_NO_KEY: 'no private key',
  NTE_PERM: "this account may not use the key (the key's access list)",
  NTE_SILENT_CONTEXT: 'the key needs a prompt (PIN or consent), which this process may not show',
  NTE_USER_CANCELLED: 'the user cancelled',
  NTE_NOT_SUPPORTED: 'the key storage provider does not support this',
  CRYPT_E_NO_KEY_PROPERTY: 'the certificate has no private key',
  SCARD_E_NO_SMARTCARD: 'the smart card is not inserted',
  SCARD_W_WRONG_CHV: 'wrong PIN',
  SCARD_W_CANCELLED_BY_USER: 'the user cancelled the PIN prompt',
};

/** `NTE_SILENT_CONTEXT` for 0x80090022 (signed or unsigned), or `unknown`. */
export function cngName(status: number): string {
  return NAMES.get(status >>> 0) ?? 'unknown';
}

/** `0x80090022 (NTE_SILENT_CONTEXT: the key needs a prompt …)`. */
export function cngText(status: number): string {
  const code = status >>> 0;
  const name = cngName(code);
  const meaning = MEANING[name as keyof typeof CngStatus];
  return `0x${code.toString(16).padStart(8, '0')} (${name}${meaning ? `: ${meaning}` : ''})`;
}

/** The typed error for one failed call: `CryptAcquireCertificatePrivateKey cng:…: 0x80090016 (NTE_BAD_KEYSET: …)`. */
export function cngError(code: ErrorCode, call: string, subject: string, status: number): TandemError {
  return new TandemError(code, `${call} ${subject}: ${cngText(status)}`, {
    details: { call, status: status >>> 0, name: cngName(status) },
  });
}

/** E_CERT_KEY for a key that could not be opened. */
export const keyError = (call: string, subject: string, status: number): TandemError =>
  cngError(ErrorCodes.CERT_KEY, call, subject, status);
