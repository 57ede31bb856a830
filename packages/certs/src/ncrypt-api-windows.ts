/**
 * The ncrypt calls the Windows signer makes (signer-windows.ts), as an interface the signer
 * receives, and {@link loadNCryptApi}, which binds them through koffi on Windows. Unit tests pass
 * a fake that records calls instead; nothing here runs on Linux.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { NCryptKey } from './crypt32-api-windows.js';

/** bcrypt.h / ncrypt.h flags the signer passes. */
export const NCrypt = {
  BCRYPT_PAD_PKCS1: 0x2,
  BCRYPT_PAD_PSS: 0x8,
  NCRYPT_SILENT_FLAG: 0x40,
} as const;

/** The CNG hash algorithm names (`BCRYPT_SHA256_ALGORITHM`, …) a padding structure names. */
export type CngHashAlgorithm = 'SHA256' | 'SHA384' | 'SHA512';

/** BCRYPT_PKCS1_PADDING_INFO or BCRYPT_PSS_PADDING_INFO; null for ECDSA (no padding structure). */
export type CngPadding =
  { kind: 'pkcs1'; algorithm: CngHashAlgorithm } | { kind: 'pss'; algorithm: CngHashAlgorithm; saltBytes: number };

/** The calls, named and shaped as in ncrypt.h; statuses are SECURITY_STATUS (0 is success). */
export interface NCryptApi {
  /**
   * Signs `hash` (a digest). With `signature` null only the length is written to `result[0]`;
   * ECDSA signatures are the raw `r‖s`, not DER.
   */
  NCryptSignHash(
    key: NCryptKey,
    padding: CngPadding | null,
    hash: Uint8Array,
    signature: Uint8Array | null,
    result: Uint32Array,
    flags: number,
  ): number;
  NCryptFreeObject(object: NCryptKey): number;
}

type Fn = (...args: unknown[]) => unknown;
let bound: NCryptApi | undefined;

/** Binds ncrypt.dll through koffi, once per process; Windows only. */
export function loadNCryptApi(): NCryptApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.CERT_KEY, `ncrypt is Windows-only (platform ${process.platform})`);
  bound ??= bind();
  return bound;
}

function bind(): NCryptApi {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('ncrypt.dll');
  koffi.struct('TANDEM_BCRYPT_PKCS1_PADDING_INFO', { pszAlgId: 'str16' });
  koffi.struct('TANDEM_BCRYPT_PSS_PADDING_INFO', { pszAlgId: 'str16', cbSalt: 'uint32_t' });
  // One C function, three prototypes: koffi marshals the padding structure the call passes.
  const tail = 'const uint8_t *hash, uint32_t cbHash, uint8_t *sig, uint32_t cbSig, uint32_t *result, uint32_t flags';
  const signPkcs1 = lib.func(
    `int32_t __stdcall NCryptSignHash(uint64_t key, const TANDEM_BCRYPT_PKCS1_PADDING_INFO *padding, ${tail})`,
  ) as Fn;
  const signPss = lib.func(
    `int32_t __stdcall NCryptSignHash(uint64_t key, const TANDEM_BCRYPT_PSS_PADDING_INFO *padding, ${tail})`,
  ) as Fn;
  const signBare = lib.func(`int32_t __stdcall NCryptSignHash(uint64_t key, void *padding, ${tail})`) as Fn;
  const free = lib.func('int32_t __stdcall NCryptFreeObject(uint64_t object)') as Fn;
  return {
    NCryptSignHash: (key, padding, hash, signature, result, flags) => {
      const args = [hash, hash.length, signature, signature?.length ?? 0, result, flags];
      const status =
        padding === null
          ? signBare(key, null, ...args)
          : padding.kind === 'pkcs1'
            ? signPkcs1(key, { pszAlgId: padding.algorithm }, ...args)
            : signPss(key, { pszAlgId: padding.algorithm, cbSalt: padding.saltBytes }, ...args);
      return (status as number) >>> 0;
    },
    NCryptFreeObject: (object) => (free(object) as number) >>> 0,
  };
}
