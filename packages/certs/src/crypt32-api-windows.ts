/**
 * The crypt32 (and kernel32) calls the Windows certificate store backend makes
 * (source-windows.ts), as an interface the backend receives, and {@link loadCrypt32Api}, which
 * binds them through koffi on Windows. Unit tests pass a fake that records calls instead; nothing
 * here runs on Linux except the layout constants, which packages/certs/test/windows-layout.test.ts checks
 * against koffi's own computation of the C declaration.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** An open certificate store (`HCERTSTORE`). */
export type CertStore = bigint & { readonly __crypt32: 'store' };
/** A certificate context (`PCCERT_CONTEXT`): ours to free once duplicated. */
export type CertContext = bigint & { readonly __crypt32: 'cert' };
/** A CNG key handle (`NCRYPT_KEY_HANDLE`). */
export type NCryptKey = bigint & { readonly __ncrypt: 'key' };

/** wincrypt.h values the backend passes. */
export const Crypt32 = {
  CERT_STORE_PROV_SYSTEM_W: 10,
  CERT_SYSTEM_STORE_CURRENT_USER: 1 << 16,
  CERT_SYSTEM_STORE_LOCAL_MACHINE: 2 << 16,
  CERT_STORE_OPEN_EXISTING_FLAG: 0x4000,
  CERT_STORE_READONLY_FLAG: 0x8000,
  CERT_KEY_PROV_INFO_PROP_ID: 2,
  CRYPT_ACQUIRE_COMPARE_KEY_FLAG: 0x4,
  CRYPT_ACQUIRE_SILENT_FLAG: 0x40,
  CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG: 0x40000,
  CERT_NCRYPT_KEY_SPEC: 0xffffffff,
} as const;

/** CERT_CONTEXT on 64-bit Windows: `DWORD dwCertEncodingType; BYTE *pbCertEncoded; DWORD cbCertEncoded; …`. */
export const CERT_CONTEXT = { size: 40, pbCertEncoded: 8, cbCertEncoded: 16 } as const;

/** A private key CryptAcquireCertificatePrivateKey handed out. */
export interface AcquiredKey {
  key: NCryptKey;
  /** CERT_NCRYPT_KEY_SPEC for a CNG key. */
  keySpec: number;
  /** The caller must NCryptFreeObject the key (always so without CRYPT_ACQUIRE_CACHE_FLAG). */
  callerFree: boolean;
}

/** The calls, named as in wincrypt.h; null stands for a NULL handle (then read GetLastError). */
export interface Crypt32Api {
  /** `CertOpenStore(provider, 0, 0, flags, storeName)`; `storeName` is the system store (`MY`). */
  CertOpenStore(provider: number, flags: number, storeName: string): CertStore | null;
  /** The next certificate after `previous` (which this frees), or null at the end. */
  CertEnumCertificatesInStore(store: CertStore, previous: CertContext | null): CertContext | null;
  /** A copy of the context's DER (`pbCertEncoded`, `cbCertEncoded`). */
  encodedCertificate(cert: CertContext): Buffer;
  /** True when the context has the property (a size query: no data is read). */
  CertGetCertificateContextProperty(cert: CertContext, propId: number): boolean;
  CertDuplicateCertificateContext(cert: CertContext): CertContext;
  CertFreeCertificateContext(cert: CertContext): boolean;
  CertCloseStore(store: CertStore): boolean;
  /** The certificate's private key, or null (then read GetLastError). */
  CryptAcquireCertificatePrivateKey(cert: CertContext, flags: number): AcquiredKey | null;
  /** The calling thread's last error, as the previous call left it. */
  GetLastError(): number;
}

type Fn = (...args: unknown[]) => unknown;
const handle = <T>(p: unknown): T | null => (p ? (BigInt(p as bigint) as T) : null);

let bound: Crypt32Api | undefined;

/** Binds crypt32.dll and kernel32 through koffi, once per process; Windows only. */
export function loadCrypt32Api(): Crypt32Api {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.CERT_STORE, `crypt32 is Windows-only (platform ${process.platform})`);
  bound ??= bind();
  return bound;
}

function bind(): Crypt32Api {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  // System DLLs by name: Windows resolves these from System32 (KnownDLLs), never the search path.
  const crypt32 = koffi.load('crypt32.dll');
  const k32 = koffi.load('kernel32.dll');
  const f = (lib: ReturnType<typeof koffi.load>, decl: string): Fn => lib.func(decl) as Fn;
  const open = f(
    crypt32,
    'void * __stdcall CertOpenStore(uintptr_t provider, uint32_t encoding, void *prov, uint32_t flags, str16 para)',
  );
  const enumerate = f(crypt32, 'void * __stdcall CertEnumCertificatesInStore(void *store, void *previous)');
  const property = f(
    crypt32,
    'int __stdcall CertGetCertificateContextProperty(void *cert, uint32_t prop, void *data, _Inout_ uint32_t *size)',
  );
  const duplicate = f(crypt32, 'void * __stdcall CertDuplicateCertificateContext(void *cert)');
  const free = f(crypt32, 'int __stdcall CertFreeCertificateContext(void *cert)');
  const close = f(crypt32, 'int __stdcall CertCloseStore(void *store, uint32_t flags)');
  const acquire = f(
    crypt32,
    'int __stdcall CryptAcquireCertificatePrivateKey(void *cert, uint32_t flags, void *reserved, _Out_ uint64_t *key, _Out_ uint32_t *keySpec, _Out_ int *callerFree)',
  );
  const lastError = f(k32, 'uint32_t __stdcall GetLastError()');
  return {
    CertOpenStore: (provider, flags, name) => handle(open(provider, 0, null, flags, name)),
    CertEnumCertificatesInStore: (store, previous) => handle(enumerate(store, previous)),
    encodedCertificate: (cert) => {
      const ctx = Buffer.from(koffi.view(cert, CERT_CONTEXT.size));
      const data = ctx.readBigUInt64LE(CERT_CONTEXT.pbCertEncoded);
      const length = ctx.readUInt32LE(CERT_CONTEXT.cbCertEncoded);
      return Buffer.from(new Uint8Array(koffi.view(data, length)));
    },
    CertGetCertificateContextProperty: (cert, propId) => property(cert, propId, null, new Uint32Array(1)) !== 0,
    CertDuplicateCertificateContext: (cert) => handle<CertContext>(duplicate(cert)) ?? cert,
    CertFreeCertificateContext: (cert) => free(cert) !== 0,
    CertCloseStore: (store) => close(store, 0) !== 0,
    CryptAcquireCertificatePrivateKey: (cert, flags) => {
      const key = new BigUint64Array(1);
      const spec = new Uint32Array(1);
      const callerFree = new Int32Array(1);
      if (acquire(cert, flags, null, key, spec, callerFree) === 0) return null;
      return { key: key[0]! as NCryptKey, keySpec: spec[0]!, callerFree: callerFree[0] !== 0 };
    },
    GetLastError: () => lastError() as number,
  };
}
