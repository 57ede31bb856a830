/**
 * The macOS keychains as certificate sources: every identity (a certificate with its private
 * key) of one keychain file, found with `SecItemCopyMatching` restricted to that keychain. The
 * machine store is the System keychain (`/Library/Keychains/System.keychain`), read by the agent
 * (a root launchd daemon); the user store is the user's login keychain, read in the user's own
 * process. Keys stay in the keychain and sign through {@link KeychainSigner}.
 *
 * [unverified] Identities on a smart card (CryptoTokenKit) are not in a keychain file, so a
 * search list of one file does not return them; and a System keychain key whose access list does
 * not name the agent fails to sign with errSecInteractionNotAllowed (a typed error, no prompt).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { CertificateModel } from './model.js';
import { loadSecurityApi, OSStatus, osStatusError, type CFRef, type SecurityApi } from './security-api-darwin.js';
import { KeychainSigner } from './signer-darwin.js';
import type { CertificateEntry, CertificateSource, SourceDiagnostic, StoreKind } from './source.js';
import type { StoreSet } from './stores.js';

/** The machine store: the System keychain. */
export const SYSTEM_KEYCHAIN = '/Library/Keychains/System.keychain';

/** The user store: the login keychain of the user whose home this is. */
export function loginKeychain(home: string = homedir()): string {
  return join(home, 'Library', 'Keychains', 'login.keychain-db');
}

/** Options for {@link KeychainSource}. */
export interface KeychainSourceOptions {
  /** The Security.framework binding (default: loaded through koffi on first use). */
  api?: SecurityApi;
}

/** The identities of one keychain file. */
export class KeychainSource implements CertificateSource {
  readonly kind: StoreKind = 'keychain';
  readonly label: string;
  private diags: SourceDiagnostic[] = [];
  /** References this source holds (keychain, identities, keys), released by {@link close}. */
  private refs: CFRef[] = [];
  private signers = new Map<string, KeychainSigner>();

  /** Nothing is opened until {@link list}. */
  constructor(
    readonly path: string,
    private readonly opts: KeychainSourceOptions = {},
  ) {
    this.label = `keychain:${path}`;
  }

  private get api(): SecurityApi {
    return this.opts.api ?? loadSecurityApi();
  }

  /** See {@link CertificateSource.diagnostics}. */
  diagnostics(): SourceDiagnostic[] {
    return [...this.diags];
  }

  /** Releases the keychain, identities and keys (signers of listed entries stop working). */
  async close(): Promise<void> {
    for (const ref of this.refs.splice(0)) this.api.CFRelease(ref);
    this.signers.clear();
  }

  /** See {@link CertificateSource.list}. Throws E_CERT_STORE when the keychain cannot be searched. */
  async list(): Promise<CertificateEntry[]> {
    await this.close();
    this.diags = [];
    const api = this.api;
    const opened = api.SecKeychainOpen(this.path);
    if (opened.status !== OSStatus.errSecSuccess || !opened.keychain)
      throw osStatusError(ErrorCodes.CERT_STORE, 'SecKeychainOpen', this.label, opened.status);
    this.refs.push(opened.keychain);
    const found = api.SecItemCopyMatching({ searchList: [opened.keychain] });
    this.refs.push(...found.identities);
    if (found.status === OSStatus.errSecItemNotFound) return [];
    if (found.status !== OSStatus.errSecSuccess)
      throw osStatusError(ErrorCodes.CERT_STORE, 'SecItemCopyMatching', this.label, found.status);
    const entries: CertificateEntry[] = [];
    for (const [index, identity] of found.identities.entries()) {
      try {
        entries.push(this.entry(identity));
      } catch (err) {
        this.diags.push({ origin: `${this.label}#${index}`, message: (err as Error).message });
      }
    }
    return entries;
  }

  private entry(identity: CFRef): CertificateEntry {
    const api = this.api;
    const copied = api.SecIdentityCopyCertificate(identity);
    if (copied.status !== OSStatus.errSecSuccess || !copied.certificate)
      throw osStatusError(ErrorCodes.CERT_INVALID, 'SecIdentityCopyCertificate', this.label, copied.status);
    const der = api.SecCertificateCopyData(copied.certificate);
    api.CFRelease(copied.certificate);
    const parsed = new CertificateModel(der);
    const origin = `${this.label}#${parsed.sha1}`;
    const type = parsed.publicKey.type;
    const usable = type === 'rsa' || type === 'ec';
    const model = parsed.withKey({
      hasPrivateKey: usable,
      keySource: usable ? 'keychain' : null,
      keyProblem: usable ? null : `unsupported key type ${type}`,
    });
    const signer = (): KeychainSigner => this.signerFor(identity, type as 'rsa' | 'ec', origin);
    return {
      model,
      chain: [],
      origin,
      signer: usable ? async () => signer() : null,
      async tlsCredentials() {
        if (!usable) throw new TandemError(ErrorCodes.CERT_KEY, `${origin}: unsupported key type ${type}`);
        return { cert: model.pem, signer: signer() };
      },
    };
  }

  /** The identity's key, copied once; E_CERT_KEY naming SecIdentityCopyPrivateKey when it cannot be. */
  private signerFor(identity: CFRef, keyType: 'rsa' | 'ec', origin: string): KeychainSigner {
    const known = this.signers.get(origin);
    if (known) return known;
    const copied = this.api.SecIdentityCopyPrivateKey(identity);
    if (copied.status !== OSStatus.errSecSuccess || !copied.key)
      throw osStatusError(ErrorCodes.CERT_KEY, 'SecIdentityCopyPrivateKey', origin, copied.status);
    this.refs.push(copied.key);
    const signer = new KeychainSigner(this.api, copied.key, keyType, origin);
    this.signers.set(origin, signer);
    return signer;
  }
}

/** The macOS stores: the System keychain (machine) and the user's login keychain (user). */
export function darwinDefaultStores(opts: KeychainSourceOptions & { home?: string } = {}): StoreSet {
  const api = opts.api ? { api: opts.api } : {};
  return {
    machine: [new KeychainSource(SYSTEM_KEYCHAIN, api)],
    user: [new KeychainSource(loginKeychain(opts.home), api)],
  };
}
