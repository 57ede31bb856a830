/**
 * Store sets: the `machine` and the `user` store, each a list of sources, and the Linux default
 * locations. The machine store is read by the root agent and must be root-owned
 * (docs/attack-surface.md, "machine certificates"); the user store belongs to the requesting user.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SelectionCandidate } from './select.js';
import { DirectorySource } from './source-dir.js';
import type { CertificateSource, SecretCallback, SourceDiagnostic, StoreLabel } from './source.js';

/** Linux machine store directory (root-owned). */
export const LINUX_MACHINE_STORE = '/etc/tandem/certs/machine';

/** Linux user store: `$XDG_CONFIG_HOME/tandem/certs` or `~/.config/tandem/certs`. */
export function linuxUserStoreDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'tandem', 'certs');
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
  secret?: SecretCallback;
  /** Only for tests: accept a machine store not owned by root. */
  insecureMachineStore?: boolean;
}

/** The Linux stores: directory sources at the default (or given) locations. */
export function linuxDefaultStores(opts: DefaultStoreOptions = {}): StoreSet {
  const secret = opts.secret ? { secret: opts.secret } : {};
  return {
    machine: [
      new DirectorySource(opts.machineDir ?? LINUX_MACHINE_STORE, {
        ...secret,
        requireRootOwned: opts.insecureMachineStore !== true,
      }),
    ],
    user: [new DirectorySource(opts.userDir ?? linuxUserStoreDir(), secret)],
  };
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
