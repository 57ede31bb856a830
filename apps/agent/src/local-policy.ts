/**
 * The AnyConnect local policy in force (docs/profile.md#local-policy), read at start and on
 * SIGHUP with the profiles' safe loader: root-owned, not writable by group or others, no
 * symbolic links, parsed from the descriptor that was checked. No file means every default. A
 * refused or broken file is logged with its reason and its last good version stays in force —
 * the defaults when none was ever read, since a file the agent cannot trust says nothing.
 *
 * Each load logs, once, the settings written with a value Tandem cannot honour (FIPS mode, CRL
 * checks, an IPsec-only restriction): an administrator sees at start what is not applied.
 */
import type { StoreKind } from '@tandem/certs';
import { ErrorCodes, isTandemError, type Logger } from '@tandem/common';
import {
  defaultLocalPolicy,
  loadProfileFile,
  localPolicySettings,
  unsupportedSettings,
  type LocalPolicy,
} from '@tandem/profile';

/** The local policy in force and how the last load went. */
export interface LocalPolicyState {
  policy: LocalPolicy;
  file: string;
  /**
   * `loaded`; `absent` (no file: defaults); `refused` (unusable and none read before: defaults);
   * `kept-last-good` (unusable now: the version read before stays).
   */
  status: 'loaded' | 'absent' | 'refused' | 'kept-last-good';
  reason?: string;
  /** What the parser warned about (unknown elements, junk values that took their default). */
  warnings?: Array<{ line: number; message: string }>;
}

/**
 * The store kinds the policy keeps out of every certificate selection: `ExcludePemFileCertStore`
 * the file directories, `ExcludeFirefoxNSSCertStore` the NSS database, `ExcludeWinNativeCertStore`
 * the Windows certificate stores, `ExcludeMacNativeCertStore` the macOS keychains.
 */
export function excludedStoreKinds(policy: LocalPolicy): StoreKind[] {
  const kinds: StoreKind[] = [];
  if (policy.excludePemFileCertStore) kinds.push('pem-file');
  // Secure Client's NSS store is Firefox's profile database; Tandem's is the shared ~/.pki/nssdb.
  // The setting excludes the NSS store family, so it applies to the one Tandem reads.
  if (policy.excludeFirefoxNssCertStore) kinds.push('nss');
  if (policy.excludeWinNativeCertStore) kinds.push('windows');
  if (policy.excludeMacNativeCertStore) kinds.push('keychain');
  return kinds;
}

function reasonOf(err: unknown): string {
  if (isTandemError(err)) return typeof err.details['reason'] === 'string' ? err.details['reason'] : err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Loads, keeps and reloads the local policy. */
export class LocalPolicyStore {
  private good: LocalPolicy | null = null;
  private current: LocalPolicyState;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {
    this.current = { policy: defaultLocalPolicy(), file, status: 'absent' };
  }

  /** The state of the last load. */
  get state(): LocalPolicyState {
    return this.current;
  }

  /** The policy in force. */
  get policy(): LocalPolicy {
    return this.current.policy;
  }

  /** Re-reads the file; never throws (a failure keeps what was in force). */
  async load(): Promise<LocalPolicyState> {
    const file = this.file;
    try {
      const parsed = await loadProfileFile(file, { requireRootOwned: true });
      if (parsed.document.kind !== 'local-policy')
        throw new Error('is a VPN profile, not an AnyConnectLocalPolicy document');
      for (const w of parsed.warnings)
        this.log.warn('local policy warning', { file, line: w.line, message: w.message });
      this.good = parsed.document;
      const warnings = parsed.warnings.slice(0, 200).map((w) => ({ line: w.line, message: w.message }));
      this.current = { policy: parsed.document, file, status: 'loaded', ...(warnings.length ? { warnings } : {}) };
    } catch (err) {
      if (isTandemError(err, ErrorCodes.PROFILE_IO) && err.details['errno'] === 'ENOENT') {
        this.good = null;
        this.current = { policy: defaultLocalPolicy(), file, status: 'absent' };
        this.log.debug('no local policy file: every default applies', { file });
        return this.current;
      }
      const reason = reasonOf(err);
      if (this.good) {
        this.current = { policy: this.good, file, status: 'kept-last-good', reason };
        this.log.error('local policy refused; keeping its last good version', { file, reason });
      } else {
        this.current = { policy: defaultLocalPolicy(), file, status: 'refused', reason };
        this.log.error('local policy refused; every default applies', { file, reason });
      }
      return this.current;
    }
    this.report(this.current.policy);
    return this.current;
  }

  private report(policy: LocalPolicy): void {
    const set = localPolicySettings(policy).filter((s) => !s.isDefault);
    this.log.info('local policy loaded', {
      file: this.file,
      settings: set.map((s) => `${s.name}=${s.value}`).join('; ') || '(all defaults)',
    });
    for (const s of unsupportedSettings(policy))
      this.log.warn('local policy setting not supported; not applied', {
        setting: s.name,
        value: s.value,
        note: s.note,
      });
  }
}
