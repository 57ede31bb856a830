/**
 * A directory of certificate files: PKCS#12 (`.p12`/`.pfx`), PEM or DER (`.pem`/`.crt`/`.cer`/
 * `.der`) with the key in the same file, beside it as `NAME.key`, or in `private/NAME.key`
 * (the Cisco Linux PEM store layout). A file that cannot be read becomes a
 * diagnostic; the listing never fails because of one bad file.
 */
import { lstat, open, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import { privatePathPolicy } from '@tandem/common/safe-fs';
import { looksLikePem, openPemKey, readPem, readPkcs12, WrongPasswordError, type FileContents } from './keyfile.js';
import { CertificateModel, type KeySource } from './model.js';
import { KeyObjectSigner, keyMatchesSpki } from './signer.js';
import type {
  CertificateEntry,
  CertificateSource,
  SecretCallback,
  SourceDiagnostic,
  TlsCredentials,
} from './source.js';

/** Options for {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** Passphrase for encrypted keys and password-protected PKCS#12; omit to skip such files. */
  secret?: SecretCallback;
  /**
   * Machine-store mode: the directory and every file must be owned by root and not writable by
   * group or others, and symlinks are refused. Only tests turn this off for machine stores.
   */
  requireRootOwned?: boolean;
}

const CERT_EXT = new Set(['.pem', '.crt', '.cer', '.der']);
const P12_EXT = new Set(['.p12', '.pfx']);
/** Certificate files are small; a cap keeps a planted huge file from exhausting memory. */
const MAX_FILE = 1024 * 1024;

/**
 * Whether a machine-store directory or file (by path, or by its open descriptor) is root's and
 * writable by nobody else — owner and mode on Linux and macOS, owner and DACL on Windows.
 */
function protectedAsRoot(path: string, check: { fd?: number; directory?: boolean }): boolean {
  return privatePathPolicy().protectedRefusal(path, check) === null;
}

/** Certificates from one directory (not recursive). */
export class DirectorySource implements CertificateSource {
  readonly label: string;
  readonly kind = 'pem-file';
  private diags: SourceDiagnostic[] = [];

  /** `dir` is read on every {@link list} call, so changes show up without restarting. */
  constructor(
    readonly dir: string,
    private readonly opts: DirectorySourceOptions = {},
  ) {
    this.label = `dir:${dir}`;
  }

  /** See {@link CertificateSource.diagnostics}. */
  diagnostics(): SourceDiagnostic[] {
    return [...this.diags];
  }

  /** See {@link CertificateSource.list}. Throws E_CERT_STORE only for an unsafe machine store directory. */
  async list(): Promise<CertificateEntry[]> {
    this.diags = [];
    let names: string[];
    try {
      if (this.opts.requireRootOwned) {
        const st = await lstat(this.dir);
        if (!st.isDirectory() || !protectedAsRoot(this.dir, { directory: true })) {
          throw new TandemError(
            ErrorCodes.CERT_STORE,
            `machine store ${this.dir} refused: it must be a directory owned by root and not writable by group or others`,
            { details: { dir: this.dir } },
          );
        }
      }
      names = (await readdir(this.dir)).sort();
    } catch (err) {
      if (err instanceof TandemError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      this.diags.push({ origin: this.dir, message: `cannot read directory (${code ?? 'error'})` });
      return [];
    }
    const entries: CertificateEntry[] = [];
    for (const name of names) {
      const ext = extname(name).toLowerCase();
      if (ext === '.key' || name === 'private') continue;
      const path = join(this.dir, name);
      if (!CERT_EXT.has(ext) && !P12_EXT.has(ext)) {
        this.diags.push({ origin: path, message: 'skipped: not a .pem/.crt/.cer/.der/.p12/.pfx file' });
        continue;
      }
      try {
        entries.push(...(await this.readEntryFile(path, P12_EXT.has(ext))));
      } catch (err) {
        this.diags.push({ origin: path, message: err instanceof Error ? err.message : String(err) });
      }
    }
    return entries;
  }

  private async readFile(path: string, optional = false): Promise<Buffer | null> {
    const noFollow = this.opts.requireRootOwned ? constants.O_NOFOLLOW : 0;
    let fh;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | noFollow);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (optional && code === 'ENOENT') return null;
      throw new Error(
        code === 'ELOOP' ? 'refused: symbolic link in the machine store' : `cannot open (${code ?? 'error'})`,
        { cause: err },
      );
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('skipped: not a regular file');
      if (this.opts.requireRootOwned && !protectedAsRoot(path, { fd: fh.fd }))
        throw new Error('refused: machine store file must be owned by root and not writable by group or others');
      if (st.size > MAX_FILE) throw new Error(`skipped: larger than ${MAX_FILE} bytes`);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  private ask(kind: 'pkcs12' | 'key', origin: string): () => Promise<string | null> {
    return async () => (this.opts.secret ? this.opts.secret({ kind, origin }) : null);
  }

  private async readP12(path: string, bytes: Buffer): Promise<FileContents> {
    try {
      return readPkcs12(bytes, '');
    } catch (err) {
      if (!(err instanceof WrongPasswordError)) throw err;
    }
    const pw = await this.ask('pkcs12', path)();
    if (pw === null) throw new Error('PKCS#12 file needs a password and none was given');
    try {
      return readPkcs12(bytes, pw);
    } catch (err) {
      if (err instanceof WrongPasswordError) throw new Error('PKCS#12 password is wrong', { cause: err });
      throw err;
    }
  }

  private async readEntryFile(path: string, p12: boolean): Promise<CertificateEntry[]> {
    const bytes = (await this.readFile(path)) as Buffer;
    let contents: FileContents;
    let keySource: KeySource = 'file';
    if (p12) {
      contents = await this.readP12(path, bytes);
      keySource = 'pkcs12';
    } else {
      const text = bytes.toString('latin1');
      contents = looksLikePem(text)
        ? await readPem(text, this.ask('key', path))
        : { certs: [bytes], keys: [], lockedKey: false };
      if (contents.keys.length === 0 && !contents.lockedKey) await this.addSideKey(path, contents);
    }
    if (contents.certs.length === 0) throw new Error('no certificate found in file');
    const models = contents.certs.map((der) => new CertificateModel(der));
    return [this.entryFor(path, models, contents, keySource)];
  }

  /** Looks for `NAME.key` beside the file, then `private/NAME.key`. */
  private async addSideKey(path: string, contents: FileContents): Promise<void> {
    const stem = basename(path, extname(path));
    for (const keyPath of [join(this.dir, `${stem}.key`), join(this.dir, 'private', `${stem}.key`)]) {
      const bytes = await this.readFile(keyPath, true);
      if (!bytes) continue;
      const key = await openPemKey(bytes.toString('latin1'), this.ask('key', keyPath));
      if (key) contents.keys.push(key);
      else contents.lockedKey = true;
      return;
    }
  }

  /** Picks the leaf (the certificate whose key we hold, else the first non-CA one) and builds the entry. */
  private entryFor(
    path: string,
    models: CertificateModel[],
    contents: FileContents,
    keySource: KeySource,
  ): CertificateEntry {
    let leafIdx = -1;
    let key: KeyObject | null = null;
    for (const [i, m] of models.entries()) {
      const k = contents.keys.find((candidate) => keyMatchesSpki(candidate, m.spki));
      if (k) {
        leafIdx = i;
        key = k;
        break;
      }
    }
    if (leafIdx < 0) {
      leafIdx = models.findIndex((m) => !m.ca);
      if (leafIdx < 0) leafIdx = 0;
    }
    const keyProblem = key
      ? null
      : contents.keys.length > 0
        ? 'private key does not match the certificate'
        : contents.lockedKey
          ? 'private key is encrypted and no correct passphrase was given'
          : null;
    const leaf = (models[leafIdx] as CertificateModel).withKey({
      hasPrivateKey: key !== null,
      keySource: key ? keySource : null,
      keyProblem,
    });
    const chain = models.filter((_, i) => i !== leafIdx);
    const signer = key ? async () => new KeyObjectSigner(key, keySource) : null;
    return {
      model: leaf,
      chain,
      origin: path,
      signer,
      async tlsCredentials(): Promise<TlsCredentials> {
        if (!key) throw new TandemError(ErrorCodes.CERT_KEY, `${path}: ${keyProblem ?? 'no private key'}`);
        return {
          cert: [leaf, ...chain].map((m) => m.pem).join(''),
          key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
        };
      },
    };
  }
}
