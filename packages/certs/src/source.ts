/**
 * The store abstraction shared by every backend: files, PKCS#11 and NSS on Linux, the Windows
 * certificate stores (CNG) and the macOS keychains. A source lists entries; an entry carries the certificate model, the rest of
 * its chain, and ways to use the key without ever exporting it from where it lives.
 */
import type { CertificateModel } from './model.js';
import type { Signer, SyncSigner } from './signer.js';

/** Which store family a certificate came from (docs/profile.md#certificate-stores). */
export type StoreLabel = 'machine' | 'user';

/**
 * Which kind of store holds a certificate, in the local policy's terms (docs/profile.md#local-policy):
 * `pem-file` is a directory of PEM, DER or PKCS#12 files (AnyConnect's "PEM file store"),
 * `pkcs11` a token, `nss` an NSS database read through NSS's softoken (the store family
 * `ExcludeFirefoxNSSCertStore` names), `windows` a Windows system store (`MY` of the machine or
 * the user), `keychain` a macOS keychain.
 */
export type StoreKind = 'pem-file' | 'pkcs11' | 'nss' | 'windows' | 'keychain';

/** The store kind a key source implies, or null when it says nothing (a remote key, no key). */
export function storeKindOfKeySource(source: string | null | undefined): StoreKind | null {
  if (source === 'file' || source === 'pkcs12') return 'pem-file';
  if (source === 'pkcs11') return 'pkcs11';
  if (source === 'nss') return 'nss';
  if (source === 'cng') return 'windows';
  if (source === 'keychain') return 'keychain';
  return null;
}

/** What Node's `tls.connect` needs to present the certificate: an in-memory key… */
export interface TlsKeyCredentials {
  /** Leaf then chain, PEM. */
  cert: string;
  /** PKCS#8 PEM. Secret: never log or serialise it. */
  key: string;
}

/** …or an OpenSSL engine reference to a key that stays on a token. */
export interface TlsEngineCredentials {
  cert: string;
  /** Absolute path of the engine shared object (the id `pkcs11` alone does not load, see notes). */
  privateKeyEngine: string;
  /** RFC 7512 URI; contains `pin-value` (secret, masked by the common redactor). */
  privateKeyIdentifier: string;
}

/**
 * …or a key that never leaves its store (Windows CNG, the macOS keychain): OpenSSL asks the
 * signer for the handshake's one signature (@tandem/dtls external-key.ts). Only Tandem's own TLS
 * client (`TlsClient`) takes this form; Node's `tls.connect` does not.
 */
export interface TlsSignerCredentials {
  cert: string;
  signer: SyncSigner;
}

/** Any credential form; the first two plug straight into `tls.connect` options, all three into `TlsClient`. */
export type TlsCredentials = TlsKeyCredentials | TlsEngineCredentials | TlsSignerCredentials;

/** One certificate a source can offer. */
export interface CertificateEntry {
  readonly model: CertificateModel;
  /** Other certificates that came with it (intermediates), nearest issuer first when known. */
  readonly chain: readonly CertificateModel[];
  /** Where it came from: a file path or a PKCS#11 URI without PIN. */
  readonly origin: string;
  /** Creates a signer for the private key, or null when there is no usable key. */
  readonly signer: (() => Promise<Signer>) | null;
  /** Credentials for TLS client authentication; rejects with E_CERT_KEY when there is no key. */
  tlsCredentials(): Promise<TlsCredentials>;
}

/** A per-file (or per-object) problem found while listing; the listing itself goes on. */
export interface SourceDiagnostic {
  /** File path or token object reference. */
  origin: string;
  message: string;
}

/** Supplies a passphrase or PIN when one is needed; null means "none available" (skip). */
export type SecretCallback = (request: { kind: 'pkcs12' | 'key' | 'pin'; origin: string }) => Promise<string | null>;

/** A place certificates come from. */
export interface CertificateSource {
  /** Human label, e.g. `dir:/etc/tandem/certs/machine` or `pkcs11:token=…`. */
  readonly label: string;
  /** The kind of store it is, for the local policy's store exclusions. */
  readonly kind?: StoreKind;
  /** Lists every certificate; problems with single files become diagnostics, not errors. */
  list(): Promise<CertificateEntry[]>;
  /** Diagnostics of the most recent {@link list} call. */
  diagnostics(): SourceDiagnostic[];
  /** Releases sessions or handles, if any. */
  close?(): Promise<void>;
}
