/**
 * Store sets: the `machine` and the `user` store, each a list of sources, and the Linux default
 * locations. The machine store is read by the root agent and must be root-owned
 * (docs/attack-surface.md, "machine certificates"); the user store belongs to the requesting
 * user and is read in that user's own process, from that process's home directory: the
 * agent never opens a user's home.
 *
 * Besides Tandem's own directories, the stores a Linux machine already has are read, so an
 * existing deployment's certificates are found without copying them:
 * - Secure Client's Linux PEM file store. What this relies on (the project's profile spec,
 *   taken from Secure Client 5.1's strings and Cisco's administrator guide section "Creating a
 *   PEM Certificate Store for Mac and Linux", whose text was not retrievable here, and public
 *   deployment guides that agree): client certificates are `NAME.pem` in
 *   `~/.cisco/certificates/client/` (user) or `/opt/.cisco/certificates/client/` (machine,
 *   root-owned), each key `private/NAME.key` beside it, paired by file name — the layout
 *   {@link DirectorySource} reads. Its `…/certificates/ca/` holds the CAs Secure Client trusts
 *   for gateways; Tandem does not read it: gateway trust is the agent's `--gateway-ca`,
 *   chosen by root, and a user's directory must not widen the root agent's trust.
 * - The user's NSS shared database `~/.pki/nssdb` (Chrome and other desktop programs),
 *   through softoken ({@link NssDbSource}). Secure Client's own NSS store is Firefox's
 *   profile database; the local policy's `ExcludeFirefoxNSSCertStore` is applied to this one.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SelectionCandidate } from './select.js';
import { DirectorySource } from './source-dir.js';
import { NssDbSource } from './source-nss.js';
import type { CertificateSource, SecretCallback, SourceDiagnostic, StoreLabel } from './source.js';

/** Linux machine store directory (root-owned). */
export const LINUX_MACHINE_STORE = '/etc/tandem/certs/machine';

/** Secure Client's machine client-certificate directory on Linux (root-owned; keys in `private/`). */
export const CISCO_MACHINE_STORE = '/opt/.cisco/certificates/client';

/** Linux user store: `$XDG_CONFIG_HOME/tandem/certs` or `~/.config/tandem/certs`. */
export function linuxUserStoreDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'tandem', 'certs');
}

/** Secure Client's user client-certificate directory: `~/.cisco/certificates/client` (keys in `private/`). */
export function ciscoUserStoreDir(home: string = homedir()): string {
  return join(home, '.cisco', 'certificates', 'client');
}

/** The user's NSS shared database: `~/.pki/nssdb`. */
export function linuxNssDbDir(home: string = homedir()): string {
  return join(home, '.pki', 'nssdb');
}

/** The two stores, each a list of sources. */
export interface StoreSet {
  machine: CertificateSource[];
  user: CertificateSource[];
}

/** Options for {@link linuxDefaultStores}. */
export interface DefaultStoreOptions {
  machineDir?: string;
  userDir?: string;
  /** Secure Client's machine directory, read as part of the machine store (default {@link CISCO_MACHINE_STORE}); null: none. */
  ciscoMachineDir?: string | null;
  /** Secure Client's user directory, read as part of the user store (default {@link ciscoUserStoreDir}); null: none. */
  ciscoUserDir?: string | null;
  /** NSS database read as part of the user store (default {@link linuxNssDbDir}); null: none. */
  nssDb?: string | null;
  /** Softoken for the NSS database (default: found in the usual places). */
  nssModule?: string;
  /** Passphrases of keys and PKCS#12 files; the NSS database's password (a `pin` request). */
  secret?: SecretCallback;
  /** Only for tests: accept a machine store not owned by root. */
  insecureMachineStore?: boolean;
}

/**
 * The Linux stores at the default (or given) locations: the machine store is Tandem's machine
 * directory and Secure Client's, both root-owned; the user store is Tandem's user directory,
 * Secure Client's and the user's NSS database.
 */
export function linuxDefaultStores(opts: DefaultStoreOptions = {}): StoreSet {
  const secret = opts.secret ? { secret: opts.secret } : {};
  const machineDir = (dir: string): DirectorySource =>
    new DirectorySource(dir, { ...secret, requireRootOwned: opts.insecureMachineStore !== true });
  const ciscoMachine = opts.ciscoMachineDir === undefined ? CISCO_MACHINE_STORE : opts.ciscoMachineDir;
  const ciscoUser = opts.ciscoUserDir === undefined ? ciscoUserStoreDir() : opts.ciscoUserDir;
  const nssDb = opts.nssDb === undefined ? linuxNssDbDir() : opts.nssDb;
  const machine: CertificateSource[] = [machineDir(opts.machineDir ?? LINUX_MACHINE_STORE)];
  if (ciscoMachine !== null) machine.push(machineDir(ciscoMachine));
  const user: CertificateSource[] = [new DirectorySource(opts.userDir ?? linuxUserStoreDir(), secret)];
  if (ciscoUser !== null) user.push(new DirectorySource(ciscoUser, secret));
  if (nssDb !== null)
    user.push(
      new NssDbSource(nssDb, {
        ...(opts.secret ? { pin: opts.secret } : {}),
        ...(opts.nssModule ? { modulePath: opts.nssModule } : {}),
      }),
    );
  return { machine, user };
}

/** Closes every source of a store set (token and NSS sessions); listed signers stop working. */
export async function closeStores(stores: StoreSet): Promise<void> {
  for (const source of [...stores.machine, ...stores.user]) await source.close?.();
}

/** Everything a store set offers, labelled with its store, plus per-source diagnostics. */
export interface CollectedCandidates {
  candidates: SelectionCandidate[];
  diagnostics: Array<SourceDiagnostic & { store: StoreLabel; source: string }>;
}

/**
 * Lists the chosen stores. A source that fails as a whole (an unsafe machine store, an
 * unreachable token) becomes a diagnostic for that source; the others still count.
 */
export async function collectCandidates(
  stores: StoreSet,
  which: 'machine' | 'user' | 'all' = 'all',
): Promise<CollectedCandidates> {
  const out: CollectedCandidates = { candidates: [], diagnostics: [] };
  const labels: StoreLabel[] = which === 'all' ? ['machine', 'user'] : [which];
  for (const store of labels) {
    for (const source of stores[store]) {
      try {
        for (const entry of await source.list())
          out.candidates.push({
            model: entry.model,
            chain: entry.chain,
            store,
            entry,
            source: source.label,
            ...(source.kind ? { kind: source.kind } : {}),
          });
      } catch (err) {
        out.diagnostics.push({
          store,
          source: source.label,
          origin: source.label,
          message: err instanceof Error ? err.message : String(err),
        });
      }
      for (const d of source.diagnostics()) out.diagnostics.push({ ...d, store, source: source.label });
    }
  }
  return out;
}
