/**
 * Crash recovery at start: before anything else touches the network, journals left by a dead
 * agent are replayed by the tunnel package so routes and DNS are what they were before that
 * agent connected. Recovery errors are logged, never fatal: an agent
 * that refuses to start cannot protect or reconnect anything.
 */
import type { Logger } from '@tandem/common';
import { recover, type RecoverReport } from '@tandem/connection';

/** Replays every orphaned journal in `journalDir`; returns the report, or null when recovery failed. */
export async function recoverNetwork(journalDir: string, log: Logger): Promise<RecoverReport | null> {
  try {
    const report = await recover(journalDir);
    if (report.journals.length === 0) log.info('network journal: nothing to recover', { ms: Math.round(report.ms) });
    for (const j of report.journals) {
      const fields = { journal: j.path, ownerPid: j.ownerPid, phase: j.phase, ...(j.error ? { error: j.error } : {}) };
      if (j.outcome === 'restored') log.info('network journal: restored routes and DNS of a dead session', fields);
      else if (j.outcome === 'owner-alive') log.warn('network journal: owner still running, left alone', fields);
      else log.error(`network journal: ${j.outcome}`, fields);
    }
    return report;
  } catch (err) {
    log.error('network journal: recovery failed', { error: err instanceof Error ? err.message : String(err) });
    return null;
  }
}
