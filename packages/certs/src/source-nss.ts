/**
 * An NSS shared database (`cert9.db` + `key4.db`, e.g. `~/.pki/nssdb`, which Chrome and other
 * desktop programs use on Linux) read through NSS's own PKCS#11 module, softoken
 * (`libsoftokn3.so`, Debian package libnss3). Softoken is a PKCS#11 module like any token, so
 * this is a {@link Pkcs11Source} with the database named in C_Initialize's NSS library
 * parameters: certificates and keys are paired by CKA_ID, keys sign through C_Sign with the
 * one PKCS#11 signer and never leave softoken. The database is opened read-only.
 *
 * A database with a password asks for it as the token's PIN (the {@link SecretCallback}'s
 * `pin` request, origin `nss:<dir>`); one without a password needs no login.
 *
 * Softoken opens one database per process at a time (C_Initialize runs once): another
 * database is opened only after the sources of the first are closed, and nothing is read when
 * another NSS user in the process initialised softoken first (see pkcs11-module.ts).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Pkcs11Source } from './source-pkcs11.js';
import type { CertificateEntry, CertificateSource, SecretCallback, SourceDiagnostic } from './source.js';

/** Where Linux distributions install softoken (Debian/Ubuntu multiarch first, then Fedora/Arch). */
export const NSS_SOFTOKEN_PATHS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu/libsoftokn3.so',
  '/usr/lib/aarch64-linux-gnu/libsoftokn3.so',
  '/usr/lib64/libsoftokn3.so',
  '/usr/lib/libsoftokn3.so',
];

/** The label softoken gives the token of its certificate and key database (not FIPS mode). */
export const NSS_DB_TOKEN = 'NSS Certificate DB';

/** The first softoken of {@link NSS_SOFTOKEN_PATHS} present on this machine, or null. */
export function findSoftoken(paths: readonly string[] = NSS_SOFTOKEN_PATHS): string | null {
  return paths.find((p) => existsSync(p)) ?? null;
}

/** A value quoted for NSS's parameter syntax: in '…', a backslash escapes the next character. */
function nssQuote(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * Softoken's C_Initialize parameters for the SQL database in `dir`, read-only: the module
 * spec of NSS's internal module (`configdir='sql:DIR' certPrefix='' keyPrefix=''
 * secmod='secmod.db' flags=readOnly`, as NSS writes it in pkcs11.txt, parsed by softoken's
 * sftkpars.c).
 */
export function nssInitArgs(dir: string): string {
  return `configdir=${nssQuote(`sql:${dir}`)} certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly`;
}

/** Options for {@link NssDbSource}. */
export interface NssDbSourceOptions {
  /** Asked for the database password (as a `pin` request) when the database has one. */
  pin?: SecretCallback;
  /** Softoken to load (default: {@link findSoftoken}). */
  modulePath?: string;
}

/** Certificates and keys of one NSS SQL database. */
export class NssDbSource implements CertificateSource {
  readonly label: string;
  readonly kind = 'nss';
  private diags: SourceDiagnostic[] = [];
  private inner: Pkcs11Source | null = null;

  /** Nothing is opened until {@link list}. */
  constructor(
    readonly dir: string,
    private readonly opts: NssDbSourceOptions = {},
  ) {
    this.label = `nss:${dir}`;
  }

  /** See {@link CertificateSource.diagnostics}. */
  diagnostics(): SourceDiagnostic[] {
    return [...this.diags, ...(this.inner?.diagnostics() ?? [])];
  }

  /** Closes softoken's sessions (signers of listed entries stop working). */
  async close(): Promise<void> {
    await this.inner?.close();
  }

  /**
   * See {@link CertificateSource.list}. No database (no directory, no `cert9.db`) lists
   * nothing and loads nothing; throws E_CERT_STORE when softoken cannot open it.
   */
  async list(): Promise<CertificateEntry[]> {
    await this.close();
    this.inner = null;
    this.diags = [];
    if (!(await this.present())) return [];
    const modulePath = this.opts.modulePath ?? findSoftoken();
    if (!modulePath) {
      this.diags.push({ origin: this.dir, message: 'NSS softoken (libsoftokn3.so) not found; install libnss3' });
      return [];
    }
    this.inner = new Pkcs11Source({
      modulePath,
      initArgs: nssInitArgs(this.dir),
      tokenLabel: NSS_DB_TOKEN,
      kind: 'nss',
      keySource: 'nss',
      label: this.label,
      tokenOrigin: this.label,
      noEngine: "a key in an NSS database signs through Tandem's signer only; OpenSSL's engine cannot open it",
      ...(this.opts.pin ? { pin: this.opts.pin } : {}),
    });
    return this.inner.list();
  }

  /** True when `dir` holds an SQL database; a legacy or unreadable one becomes a diagnostic. */
  private async present(): Promise<boolean> {
    const has = async (name: string): Promise<boolean | string> =>
      stat(join(this.dir, name)).then(
        (st) => st.isFile(),
        (err: NodeJS.ErrnoException) =>
          err.code === 'ENOENT' || err.code === 'ENOTDIR' ? false : (err.code ?? 'error'),
      );
    const sql = await has('cert9.db');
    if (typeof sql === 'string') {
      this.diags.push({ origin: this.dir, message: `cannot read the NSS database (${sql})` });
      return false;
    }
    if (sql) return true;
    if ((await has('cert8.db')) === true)
      this.diags.push({
        origin: this.dir,
        message: 'legacy (cert8.db) NSS database, not read: only the SQL format (cert9.db) is supported',
      });
    return false;
  }
}
