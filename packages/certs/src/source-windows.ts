/**
 * The Windows certificate stores as certificate sources: the `MY` system store of the machine
 * (`LocalMachine\My`, read by the agent, which runs as LocalSystem: the machine tunnel and MCA's
 * TLS certificate) or of the user (`CurrentUser\My`, read in the user's own process). Opened
 * read-only with `CertOpenStore(CERT_STORE_PROV_SYSTEM_W)`, enumerated with
 * `CertEnumCertificatesInStore`; a certificate has a key when it carries
 * `CERT_KEY_PROV_INFO_PROP_ID`. The key is opened only when a signature is needed, with
 * `CryptAcquireCertificatePrivateKey(CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG)` (plus
 * `CRYPT_ACQUIRE_SILENT_FLAG` where no prompt may be shown: the service), and signs through
 * {@link CngSigner}: it never leaves its key storage provider, so non-exportable, TPM and smart-card
 * keys work.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { cngError, CngStatus, keyError } from './cng-errors-windows.js';
import { Crypt32, loadCrypt32Api, type CertContext, type Crypt32Api, type NCryptKey } from './crypt32-api-windows.js';
import { CertificateModel } from './model.js';
import { loadNCryptApi, type NCryptApi } from './ncrypt-api-windows.js';
import { CngSigner } from './signer-windows.js';
import type { CertificateEntry, CertificateSource, SourceDiagnostic, StoreKind } from './source.js';
import type { StoreSet } from './stores.js';

/** Options for {@link WindowsStoreSource}. */
export interface WindowsStoreSourceOptions {
  /** The crypt32 binding (default: loaded through koffi on first use). */
  crypt32?: Crypt32Api;
  /** The ncrypt binding (default: loaded through koffi on first use). */
  ncrypt?: NCryptApi;
  /**
   * Never prompt (PIN, consent): the silent flags on acquiring and signing. Default: true for
   * the machine store (the agent is a service without a desktop), false for the user's.
   */
  silent?: boolean;
}

const LOCATION = {
  machine: { flag: Crypt32.CERT_SYSTEM_STORE_LOCAL_MACHINE, name: 'LocalMachine' },
  user: { flag: Crypt32.CERT_SYSTEM_STORE_CURRENT_USER, name: 'CurrentUser' },
} as const;

/** The certificates of one `MY` system store. */
export class WindowsStoreSource implements CertificateSource {
  readonly kind: StoreKind = 'windows';
  readonly label: string;
  private readonly silent: boolean;
  private diags: SourceDiagnostic[] = [];
  /** Duplicated contexts of listed certificates with keys, freed by {@link close}. */
  private contexts: CertContext[] = [];
  /** Acquired keys the caller must free, freed by {@link close}. */
  private keys: NCryptKey[] = [];
  private signers = new Map<string, CngSigner>();

  /** Nothing is opened until {@link list}. */
  constructor(
    readonly location: 'machine' | 'user',
    private readonly opts: WindowsStoreSourceOptions = {},
  ) {
    this.label = `cng:${LOCATION[location].name}\\MY`;
    this.silent = opts.silent ?? location === 'machine';
  }

  private get crypt32(): Crypt32Api {
    return this.opts.crypt32 ?? loadCrypt32Api();
  }

  private get ncrypt(): NCryptApi {
    return this.opts.ncrypt ?? loadNCryptApi();
  }

  /** See {@link CertificateSource.diagnostics}. */
  diagnostics(): SourceDiagnostic[] {
    return [...this.diags];
  }

  /** Frees the keys and certificate contexts (signers of listed entries stop working). */
  async close(): Promise<void> {
    for (const key of this.keys.splice(0)) this.ncrypt.NCryptFreeObject(key);
    for (const ctx of this.contexts.splice(0)) this.crypt32.CertFreeCertificateContext(ctx);
    this.signers.clear();
  }

  /** See {@link CertificateSource.list}. Throws E_CERT_STORE naming CertOpenStore when the store cannot be opened. */
  async list(): Promise<CertificateEntry[]> {
    await this.close();
    this.diags = [];
    const c = this.crypt32;
    const flags =
      LOCATION[this.location].flag | Crypt32.CERT_STORE_OPEN_EXISTING_FLAG | Crypt32.CERT_STORE_READONLY_FLAG;
    const store = c.CertOpenStore(Crypt32.CERT_STORE_PROV_SYSTEM_W, flags, 'MY');
    if (!store) throw cngError(ErrorCodes.CERT_STORE, 'CertOpenStore', this.label, c.GetLastError());
    const entries: CertificateEntry[] = [];
    try {
      let index = 0;
      for (let ctx = c.CertEnumCertificatesInStore(store, null); ctx; ctx = c.CertEnumCertificatesInStore(store, ctx)) {
        try {
          entries.push(this.entry(ctx));
        } catch (err) {
          this.diags.push({ origin: `${this.label}#${index}`, message: (err as Error).message });
        }
        index++;
      }
      // The end of the store is CRYPT_E_NOT_FOUND (or ERROR_NO_MORE_FILES); anything else cut it short.
      const end = c.GetLastError() >>> 0;
      if (end !== CngStatus.CRYPT_E_NOT_FOUND && end !== CngStatus.ERROR_NO_MORE_FILES)
        this.diags.push({
          origin: this.label,
          message: cngError(ErrorCodes.CERT_STORE, 'CertEnumCertificatesInStore', this.label, end).message,
        });
    } finally {
      c.CertCloseStore(store);
    }
    return entries;
  }

  private entry(ctx: CertContext): CertificateEntry {
    const c = this.crypt32;
    const parsed = new CertificateModel(c.encodedCertificate(ctx));
    const origin = `${this.label}\\${parsed.sha1.toUpperCase()}`;
    const type = parsed.publicKey.type;
    const hasKey = c.CertGetCertificateContextProperty(ctx, Crypt32.CERT_KEY_PROV_INFO_PROP_ID);
    const usable = hasKey && (type === 'rsa' || type === 'ec');
    const model = parsed.withKey({
      hasPrivateKey: usable,
      keySource: usable ? 'cng' : null,
      keyProblem: hasKey && !usable ? `unsupported key type ${type}` : null,
    });
    if (!usable)
      return {
        model,
        chain: [],
        origin,
        signer: null,
        tlsCredentials: async () => {
          throw new TandemError(ErrorCodes.CERT_KEY, `${origin}: ${model.key.keyProblem ?? 'no private key'}`);
        },
      };
    // The enumeration frees its context on the next step: a listed certificate keeps its own.
    const kept = c.CertDuplicateCertificateContext(ctx);
    this.contexts.push(kept);
    const signer = (): CngSigner => this.signerFor(kept, type as 'rsa' | 'ec', origin);
    return {
      model,
      chain: [],
      origin,
      signer: async () => signer(),
      tlsCredentials: async () => ({ cert: model.pem, signer: signer() }),
    };
  }

  /**
   * The certificate's key, acquired once (a failure is not kept: a card inserted later works);
   * E_CERT_KEY naming CryptAcquireCertificatePrivateKey and the status when it cannot be.
   */
  private signerFor(ctx: CertContext, keyType: 'rsa' | 'ec', origin: string): CngSigner {
    const known = this.signers.get(origin);
    if (known) return known;
    const c = this.crypt32;
    const flags =
      Crypt32.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG |
      Crypt32.CRYPT_ACQUIRE_COMPARE_KEY_FLAG |
      (this.silent ? Crypt32.CRYPT_ACQUIRE_SILENT_FLAG : 0);
    const acquired = c.CryptAcquireCertificatePrivateKey(ctx, flags);
    if (!acquired) throw keyError('CryptAcquireCertificatePrivateKey', origin, c.GetLastError());
    if (acquired.callerFree) this.keys.push(acquired.key);
    if (acquired.keySpec !== Crypt32.CERT_NCRYPT_KEY_SPEC)
      throw new TandemError(ErrorCodes.CERT_KEY, `${origin}: not a CNG key (key spec ${acquired.keySpec})`);
    const signer = new CngSigner(this.ncrypt, acquired.key, keyType, this.silent, origin);
    this.signers.set(origin, signer);
    return signer;
  }
}

/**
 * The Windows stores: `LocalMachine\My` (machine; silent) and `CurrentUser\My` (user). Which
 * process reads which is the caller's choice: the agent the machine store, the user's process
 * the user's.
 */
export function windowsDefaultStores(opts: Omit<WindowsStoreSourceOptions, 'silent'> = {}): StoreSet {
  return { machine: [new WindowsStoreSource('machine', opts)], user: [new WindowsStoreSource('user', opts)] };
}
