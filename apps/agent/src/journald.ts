/**
 * Is stderr journald? systemd says so by setting `JOURNAL_STREAM=<device>:<inode>` to the
 * stream it connected to the service's stdout/stderr (systemd.exec(5)). The variable alone is
 * not enough — a child of a service inherits it with its stderr sent elsewhere — so the stream
 * actually open on the fd must be that one.
 */
import { fstatSync } from 'node:fs';

/**
 * True when `fd` (2: stderr) is the stream named by `journalStream` (the JOURNAL_STREAM value):
 * then each line should carry its sd-daemon priority prefix.
 */
export function isJournalStream(fd: number, journalStream: string | undefined): boolean {
  const m = /^(\d{1,20}):(\d{1,20})$/.exec(journalStream ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}
