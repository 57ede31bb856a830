/**
 * Crash recovery: on agent start (or from a test), every journal whose owner is dead is replayed
 * with the same verify-and-repair a clean disconnect uses, then deleted. Idempotent, and a no-op
 * when there is nothing to do.
 */
import type { HostNetwork } from './host-network.js';
import { selectHostNetwork } from './host-network-select.js';
import {
  DEFAULT_JOURNAL_DIR,
  listJournals,
  ownerAlive,
  readJournal,
  removeJournal,
  removeStaleTempFiles,
  type JournalRecord,
} from './journal.js';
import type { RepairReport } from './repair.js';

/** Options for {@link recover}. */
export interface RecoverOptions {
  /**
   * How long to wait for the dead owner's TUN to disappear (the kernel unregisters it when the
   * last fd closes, slightly after the process is reaped); default 2000 ms. If it is still there
   * afterwards its routes are deleted like any other leftover.
   */
  tunGoneTimeoutMs?: number;
  /** Recover even journals whose owner is alive (only for an operator who knows it is stuck). */
  force?: boolean;
  /** The platform's routes-and-DNS backend; default {@link selectHostNetwork}'s. */
  host?: HostNetwork;
}

/** What happened to one journal. */
export interface RecoveredJournal {
  path: string;
  ownerPid: number | null;
  outcome: 'restored' | 'owner-alive' | 'unreadable' | 'repair-incomplete';
  phase?: JournalRecord['phase'];
  repair?: RepairReport;
  error?: string;
}

/** Result of {@link recover}. */
export interface RecoverReport {
  journals: RecoveredJournal[];
  /** Half-written journal versions of dead processes that were deleted (see removeStaleTempFiles). */
  tempFilesRemoved: string[];
  ms: number;
}

/**
 * Restores the host from every journal in `journalDir` whose owner process is gone. Throws
 * E_NETCONFIG only when the directory itself is unsafe (a symlink, foreign-owned, not 0700).
 */
export async function recover(
  journalDir: string = DEFAULT_JOURNAL_DIR,
  options: RecoverOptions = {},
): Promise<RecoverReport> {
  const started = performance.now();
  const journals: RecoveredJournal[] = [];
  const tempFilesRemoved = removeStaleTempFiles(journalDir);
  const records: Array<{ path: string; record: JournalRecord }> = [];
  const host = options.host ?? (await selectHostNetwork());
  for (const path of listJournals(journalDir)) {
    try {
      const record = readJournal(path);
      if (record) records.push({ path, record });
    } catch (err) {
      // Left in place: an operator must look at a journal we cannot trust rather than lose it.
      journals.push({ path, ownerPid: null, outcome: 'unreadable', error: (err as Error).message });
    }
  }
  // Newest first, so stacked sessions unwind in reverse order of creation.
  records.sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt));
  for (const { path, record } of records) {
    if (!options.force && ownerAlive(record.owner)) {
      journals.push({ path, ownerPid: record.owner.pid, outcome: 'owner-alive', phase: record.phase });
      continue;
    }
    if (record.tunDevice) await host.waitForInterfaceGone(record.tunDevice, options.tunGoneTimeoutMs ?? 2000);
    const repair = await host.repair(record);
    const complete = repair.failures.length === 0;
    if (complete) removeJournal(journalDir, record.owner.pid);
    journals.push({
      path,
      ownerPid: record.owner.pid,
      outcome: complete ? 'restored' : 'repair-incomplete',
      phase: record.phase,
      repair,
    });
  }
  return { journals, tempFilesRemoved, ms: performance.now() - started };
}
