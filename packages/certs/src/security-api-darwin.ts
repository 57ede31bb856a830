/**
 * The Security.framework calls the macOS keychain backend makes (source-darwin.ts,
 * signer-darwin.ts), as an interface the backend receives, and {@link loadSecurityApi}, which
 * binds them through koffi on macOS (CoreFoundation helpers in cf-darwin.ts). Unit tests pass a
 * fake that records calls instead; nothing here runs on Linux but the status table.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError, type ErrorCode } from '@tandem/common';
import { loadCoreFoundation, type CFRef } from './cf-darwin.js';

export type { CFRef } from './cf-darwin.js';

/** The OSStatus codes the backend tells apart (SecBase.h, MacErrors.h). */
export const OSStatus = {
  errSecSuccess: 0,
  errSecParam: -50,
  errSecUserCanceled: -128,
  errSecAuthFailed: -25293,
  errSecNoSuchKeychain: -25294,
  errSecItemNotFound: -25300,
  errSecInteractionNotAllowed: -25308,
  errSecMissingEntitlement: -34018,
} as const;

const NAMES = new Map<number, string>(Object.entries(OSStatus).map(([name, code]) => [code, name]));
const MEANING: Partial<Record<keyof typeof OSStatus, string>> = {
  errSecUserCanceled: 'the user cancelled',
  errSecAuthFailed: 'wrong password or PIN',
  errSecNoSuchKeychain: 'no such keychain',
  errSecItemNotFound: 'not found',
  errSecInteractionNotAllowed: 'the key needs a prompt, which this process may not show (locked keychain or ACL)',
  errSecMissingEntitlement: 'the program lacks the entitlement',
};

/** `-25308 (errSecInteractionNotAllowed: …)`. */
export function osStatusText(status: number): string {
  const name = NAMES.get(status) ?? 'unknown';
  const meaning = MEANING[name as keyof typeof OSStatus];
  return `${status} (${name}${meaning ? `: ${meaning}` : ''})`;
}

/** The typed error for one failed call, naming the call, its subject and the OSStatus. */
export function osStatusError(code: ErrorCode, call: string, subject: string, status: number): TandemError {
  return new TandemError(code, `${call} ${subject}: OSStatus ${osStatusText(status)}`, {
    details: { call, osStatus: status, name: NAMES.get(status) ?? 'unknown' },
  });
}

/** The SecKeyAlgorithm constants the signer uses (each names a digest input, not a message). */
export const SEC_KEY_ALGORITHMS = [
  'kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA256',
  'kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA384',
  'kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA512',
  'kSecKeyAlgorithmRSASignatureDigestPSSSHA256',
  'kSecKeyAlgorithmRSASignatureDigestPSSSHA384',
  'kSecKeyAlgorithmRSASignatureDigestPSSSHA512',
  'kSecKeyAlgorithmECDSASignatureDigestX962SHA256',
  'kSecKeyAlgorithmECDSASignatureDigestX962SHA384',
  'kSecKeyAlgorithmECDSASignatureDigestX962SHA512',
] as const;
export type SecKeyAlgorithm = (typeof SEC_KEY_ALGORITHMS)[number];

/** The calls, named as in Security.framework; every returned reference is the caller's to release. */
export interface SecurityApi {
  SecKeychainOpen(path: string): { status: number; keychain: CFRef | null };
  /**
   * SecItemCopyMatching with { kSecClass: kSecClassIdentity, kSecReturnRef: true,
   * kSecMatchLimit: kSecMatchLimitAll, kSecMatchSearchList: searchList }: the identities found
   * (errSecItemNotFound when there are none).
   */
  SecItemCopyMatching(query: { searchList: readonly CFRef[] }): { status: number; identities: CFRef[] };
  SecIdentityCopyCertificate(identity: CFRef): { status: number; certificate: CFRef | null };
  /** SecCertificateCopyData, as bytes. */
  SecCertificateCopyData(certificate: CFRef): Buffer;
  SecIdentityCopyPrivateKey(identity: CFRef): { status: number; key: CFRef | null };
  /** The signature, or the CFError's code (an OSStatus) and description. */
  SecKeyCreateSignature(
    key: CFRef,
    algorithm: SecKeyAlgorithm,
    digest: Uint8Array,
  ): { signature: Buffer; error: null } | { signature: null; error: { code: number; description: string } };
  CFRelease(ref: CFRef): void;
}

const SECURITY_PATH = '/System/Library/Frameworks/Security.framework/Security';
type Fn = (...args: unknown[]) => unknown;
let bound: SecurityApi | undefined;

/** Binds Security.framework once per process; macOS only. */
export function loadSecurityApi(): SecurityApi {
  if (process.platform !== 'darwin')
    throw new TandemError(ErrorCodes.CERT_STORE, `Security.framework is macOS-only (platform ${process.platform})`);
  bound ??= bind();
  return bound;
}

function bind(): SecurityApi {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const cf = loadCoreFoundation();
  const lib = koffi.load(SECURITY_PATH);
  const f = (decl: string): Fn => lib.func(decl) as Fn;
  const keychainOpen = f('int32_t SecKeychainOpen(const char *path, _Out_ uint64_t *keychain)');
  const copyMatching = f('int32_t SecItemCopyMatching(void *query, _Out_ uint64_t *result)');
  const copyCertificate = f('int32_t SecIdentityCopyCertificate(void *identity, _Out_ uint64_t *certificate)');
  const copyData = f('void *SecCertificateCopyData(void *certificate)');
  const copyKey = f('int32_t SecIdentityCopyPrivateKey(void *identity, _Out_ uint64_t *key)');
  const createSignature = f(
    'void *SecKeyCreateSignature(void *key, void *algorithm, void *data, _Out_ uint64_t *error)',
  );
  const k = (name: string): CFRef => cf.constant(lib, name);
  const query = {
    kSecClass: k('kSecClass'),
    kSecClassIdentity: k('kSecClassIdentity'),
    kSecReturnRef: k('kSecReturnRef'),
    kSecMatchLimit: k('kSecMatchLimit'),
    kSecMatchLimitAll: k('kSecMatchLimitAll'),
    kSecMatchSearchList: k('kSecMatchSearchList'),
  };
  const algorithms = new Map<SecKeyAlgorithm, CFRef>(SEC_KEY_ALGORITHMS.map((name) => [name, k(name)]));
  const out = (): BigUint64Array => new BigUint64Array(1);
  const ref = (cell: BigUint64Array): CFRef | null => (cell[0] ? (cell[0] as CFRef) : null);
  return {
    SecKeychainOpen: (path) => {
      const cell = out();
      const status = keychainOpen(path, cell) as number;
      return { status, keychain: ref(cell) };
    },
    SecItemCopyMatching: ({ searchList }) => {
      const list = cf.array(searchList);
      const dict = cf.dictionary([
        [query.kSecClass, query.kSecClassIdentity],
        [query.kSecReturnRef, cf.true],
        [query.kSecMatchLimit, query.kSecMatchLimitAll],
        [query.kSecMatchSearchList, list],
      ]);
      const cell = out();
      try {
        const status = copyMatching(dict, cell) as number;
        const array = ref(cell);
        if (status !== 0 || !array) return { status, identities: [] };
        // The array owns its items: each is retained for the caller before the array goes.
        const identities = cf.items(array).map((item) => cf.retain(item));
        cf.release(array);
        return { status, identities };
      } finally {
        cf.release(dict);
        cf.release(list);
      }
    },
    SecIdentityCopyCertificate: (identity) => {
      const cell = out();
      const status = copyCertificate(identity, cell) as number;
      return { status, certificate: ref(cell) };
    },
    SecCertificateCopyData: (certificate) => {
      const data = copyData(certificate) as CFRef | null;
      if (!data) return Buffer.alloc(0);
      const bytes = cf.bytes(data);
      cf.release(data);
      return bytes;
    },
    SecIdentityCopyPrivateKey: (identity) => {
      const cell = out();
      const status = copyKey(identity, cell) as number;
      return { status, key: ref(cell) };
    },
    SecKeyCreateSignature: (key, algorithm, digest) => {
      const data = cf.data(digest);
      const cell = out();
      try {
        const signature = createSignature(key, algorithms.get(algorithm), data, cell) as CFRef | null;
        if (signature) {
          const bytes = cf.bytes(signature);
          cf.release(signature);
          return { signature: bytes, error: null };
        }
        const error = ref(cell);
        const described = error ? cf.error(error) : { code: OSStatus.errSecParam, description: 'no error given' };
        if (error) cf.release(error);
        return { signature: null, error: described };
      } finally {
        cf.release(data);
      }
    },
    CFRelease: (r) => cf.release(r),
  };
}
