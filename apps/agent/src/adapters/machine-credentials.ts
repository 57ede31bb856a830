/**
 * The machine certificate, from the machine store only — on Linux Tandem's root-owned directory
 * and Secure Client's (`/opt/.cisco/certificates/client`), on Windows `LocalMachine\My`, on macOS
 * the System keychain — (docs/profile.md#management-tunnel: the
 * machine tunnel never uses a user store, selects automatically and never prompts). Encrypted keys
 * are opened with the passphrase from the agent's root-only passphrase file, which is
 * registered with the redactor before first use so no log, event or bundle can show it.
 */
import { readFile, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, redactor, TandemError, type Logger } from '@tandem/common';
import { privatePathPolicy } from '@tandem/common/safe-fs';
import {
  collectCandidates,
  defaultStores,
  linuxDefaultStores,
  selectCertificate,
  selectionPlatform,
  type CollectedCandidates,
  type SelectionResult,
  type StoreKind,
  type StoreSet,
  type TlsCredentials,
} from '@tandem/certs';
import type { ClientInitialization } from '@tandem/profile';
import { verdictsOf, type AttemptLog, type SelectionRecord } from '../attempts.js';

/** Reads the machine-store passphrase file: root-owned, mode 0600 or stricter, not a link. */
export async function readPassphraseFile(path: string): Promise<string> {
  const st = await lstat(path);
  if (!st.isFile())
    throw new TandemError(ErrorCodes.USAGE, `${path}: passphrase file must be a regular file (links are refused)`);
  const policy = privatePathPolicy();
  if (policy.kind === 'windows-acl') {
    // Owner SID and DACL (every file there reports uid 0): nobody else may even read it.
    const why = policy.protectedRefusal(path, { secret: true });
    if (why !== null) throw new TandemError(ErrorCodes.USAGE, `${path}: passphrase file refused: ${why}`);
  } else if (st.uid !== 0 || (st.mode & 0o077) !== 0)
    throw new TandemError(ErrorCodes.USAGE, `${path}: passphrase file must be owned by root with mode 0600`);
  const value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  redactor.addSecret(value);
  return value;
}

/**
 * What the store directories look like now: inodes, sizes, change times, modes and owners of
 * each directory, of its entries and of `private/`'s, so an unchanged store is not read and
 * parsed again on every connect (and a directory whose mode or owner changed is checked again).
 */
async function storeFingerprint(dirs: readonly string[]): Promise<string> {
  const parts: string[] = [];
  const add = async (path: string): Promise<void> => {
    const st = await lstat(path).catch(() => null);
    if (st) parts.push(`${path}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.uid}`);
  };
  for (const d of dirs.flatMap((dir) => [dir, join(dir, 'private')])) {
    await add(d);
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names.sort()) await add(join(d, name));
  }
  return parts.join('\n');
}

/**
 * The agent's view of the machine store: on Linux its directory and Secure Client's machine
 * directory; on Windows and macOS the OS machine store (read again at every selection: the OS
 * keeps it, and listing it is cheap).
 */
export class MachineStore {
  private readonly stores: StoreSet | null;
  private osStores: Promise<StoreSet> | null = null;
  private readonly dirs: readonly string[];
  private cached: { fingerprint: string; result: Promise<CollectedCandidates> } | null = null;

  constructor(
    dir: string,
    passphrase: string | null,
    private readonly log: Logger,
    private readonly attempts?: AttemptLog,
    /** The store kinds the local policy excludes, read at every selection (a SIGHUP may change them). */
    private readonly excludedKinds: () => readonly StoreKind[] = () => [],
    /** Secure Client's machine directory (`/opt/.cisco/certificates/client`), also read; null: none. */
    ciscoDir: string | null = null,
    /** Whose stores and profile settings apply (default this process's platform). */
    private readonly platform: string = process.platform,
  ) {
    this.dirs = ciscoDir === null ? [dir] : [dir, ciscoDir];
    if (platform !== 'linux') {
      this.stores = null;
      return;
    }
    // Machine keys never prompt: a key that needs a secret we do not have is skipped.
    const secret = async (): Promise<string | null> => passphrase;
    // The user store is never read here (the agent never opens a user's home): nothing to name.
    this.stores = linuxDefaultStores({
      machineDir: dir,
      ciscoMachineDir: ciscoDir,
      secret,
      userDir: '/nonexistent',
      ciscoUserDir: null,
      nssDb: null,
    });
  }

  /**
   * Everything the machine store offers (for selection and the diagnostic inventory); read
   * again only when a file in the store changed, was added or removed.
   */
  async list(): Promise<CollectedCandidates> {
    if (!this.stores) {
      // The agent reads the machine store only; the user's is read in the user's process.
      this.osStores ??= defaultStores({}, this.platform).then((s) => ({ machine: s.machine, user: [] }));
      return collectCandidates(await this.osStores, 'machine');
    }
    const fingerprint = await storeFingerprint(this.dirs);
    if (this.cached?.fingerprint !== fingerprint) {
      const result = collectCandidates(this.stores, 'machine');
      this.cached = { fingerprint, result };
      // A failed read is not kept: the next connect tries again.
      result.catch(() => {
        if (this.cached?.result === result) this.cached = null;
      });
    }
    return this.cached.result;
  }

  /** The selection over the machine store for `tunnel` under `init`, with a verdict per candidate. */
  async select(
    init: ClientInitialization,
    tunnel: 'machine' | 'user',
  ): Promise<{ result: SelectionResult; record: SelectionRecord; problems: CollectedCandidates['diagnostics'] }> {
    const { candidates, diagnostics } = await this.list();
    const result = selectCertificate({
      candidates,
      profileInit: init,
      tunnel,
      platform: selectionPlatform(this.platform),
      now: new Date(),
      excludedKinds: this.excludedKinds(),
    });
    return { result, record: verdictsOf(candidates, result, 'machine'), problems: diagnostics };
  }

  /** TLS client credentials of the machine certificate the profile selects; E_CERT_NOT_FOUND otherwise. */
  async credentials(init: ClientInitialization, tunnel: 'machine' | 'user'): Promise<TlsCredentials> {
    const { result, record, problems: diagnostics } = await this.select(init, tunnel);
    const candidates = record.verdicts;
    this.attempts?.selection(tunnel, record);
    for (const d of diagnostics) this.log.warn('machine store', { origin: d.origin, message: d.message });
    for (const c of result.candidates)
      this.log.info('machine certificate candidate', {
        sha256: c.sha256,
        subject: c.subject,
        accepted: c.accepted,
        reasons: c.reasons.join('; '),
      });
    const entry = result.selected?.entry;
    if (!entry)
      throw new TandemError(
        ErrorCodes.CERT_NOT_FOUND,
        `no machine certificate matches the profile (${candidates.length} in the machine store)`,
      );
    return entry.tlsCredentials();
  }
}
