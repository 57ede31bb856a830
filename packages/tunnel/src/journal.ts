/**
 * The network journal (docs/attack-surface.md#files-the-agent-writes): before the first change to the host we
 * write, atomically and root-only, what was there (main routing tables, rules, resolv.conf) and
 * what we are about to add. A clean disconnect and a post-crash recover() both repair the host
 * from it, so a SIGKILL'd agent never leaves the machine without its default route or with the
 * VPN's dead DNS, which is what openconnect leaves behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { isHostChanges, type HostChanges } from './host-changes.js';
import { ip, ipBatch, parseRouteLines } from './iproute.js';
import { snapshotResolvConf, RESOLV_CONF, type ResolvConfSnapshot } from './resolv.js';
import {
  checkPrivateDir,
  ensurePrivateDir,
  fsyncDir,
  readPrivateFile,
  removeFile,
  writeFileAtomic,
} from '@tandem/common/safe-fs';

/** Default journal directory (tmpfs: a reboot clears both the journal and the state it describes). */
export const DEFAULT_JOURNAL_DIR = '/run/tandem/netjournal';

/** The host state a session starts from. */
export interface HostSnapshot {
  routes4: string[];
  routes6: string[];
  rules4: string[];
  rules6: string[];
  resolvConf: ResolvConfSnapshot;
}

/** What a session adds; used to tell our leftovers from changes made by others meanwhile. */
export interface IntendedChanges {
  gateway: string;
  /** Route destinations as `ip route` prints them (`default`, `a.b.c.d/len`). */
  routes4: string[];
  routes6: string[];
  dns: string[];
  domains: string[];
}

/** Which step the session had reached when the journal was last written. */
export type JournalPhase = 'pre-init' | 'connecting' | 'connected' | 'disconnecting';

/** One journal file. */
export interface JournalRecord {
  version: 1;
  owner: { pid: number; startTicks: string | null };
  createdAt: string;
  phase: JournalPhase;
  before: HostSnapshot;
  tunDevice?: string;
  intended: IntendedChanges;
  /**
   * resolv.conf as the tunnel's configuration step left it (taken once connected): what a later
   * write is compared with, and what is put back when someone drops the tunnel's DNS
   * (resolv-drift.ts).
   */
  tunnelResolvConf?: ResolvConfSnapshot;
  /** Where vpnc-script keeps its per-pid state (defaultroute.<pid>, resolv.conf-backup.<pid>). */
  vpncStateDir: string;
  /**
   * Windows and macOS only (absent on Linux, whose snapshot is its journal): what the session
   * added outside the tunnel interface, written before each addition (host-changes.ts).
   */
  host?: HostChanges;
}

const NAME = /^session-(\d+)\.json$/;

/** Path of the journal owned by `pid`. */
export function journalPath(dir: string, pid: number): string {
  return join(dir, `session-${pid}.json`);
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the journal's owner is still running (same pid and same start time, so pid reuse does not count). */
export function ownerAlive(owner: JournalRecord['owner']): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartTicks(owner.pid);
  return owner.startTicks === null || now === null || now === owner.startTicks;
}

/** `ip rule show` lines ("PRIORITY:<TAB>selector"); no route line starts that way. */
const RULE_LINE = /^\d+:\t/;

/** Splits the output of `route show table main` + `rule show` run in one batch. */
function routesAndRules(output: string): { routes: string[]; rules: string[] } {
  const lines = output.split('\n');
  const first = lines.findIndex((l) => RULE_LINE.test(l));
  const routeText = first < 0 ? output : lines.slice(0, first).join('\n');
  return { routes: parseRouteLines(routeText), rules: first < 0 ? [] : lines.slice(first).filter(Boolean) };
}

/**
 * Routes and rules of one family. One batch process normally; when anything in it failed
 * (IPv6 disabled, a kernel without policy rules) each command runs on its own so the part that
 * works is kept: only unreadable IPv4 routes fail the snapshot.
 */
async function familyTables(family: '-4' | '-6'): Promise<{ routes: string[]; rules: string[] }> {
  const batch = await ipBatch([family], ['route show table main', 'rule show']);
  if (batch.ok) return routesAndRules(batch.stdout);
  const [r, u] = await Promise.all([ip([family, 'route', 'show', 'table', 'main']), ip([family, 'rule', 'show'])]);
  if (!r.ok && family === '-4')
    throw new TandemError(ErrorCodes.NETCONFIG, `cannot read the IPv4 routing table: ${r.stderr.trim()}`);
  return { routes: r.ok ? parseRouteLines(r.stdout) : [], rules: u.ok ? u.stdout.split('\n').filter(Boolean) : [] };
}

/** Captures the main routing tables, policy rules and resolv.conf (two ip(8) processes). */
export async function captureHostSnapshot(resolvConf = RESOLV_CONF): Promise<HostSnapshot> {
  const [four, six] = await Promise.all([familyTables('-4'), familyTables('-6')]);
  return {
    routes4: four.routes,
    routes6: six.routes,
    rules4: four.rules,
    rules6: six.rules,
    resolvConf: snapshotResolvConf(resolvConf),
  };
}

/** Writes (or replaces) a journal atomically in a private 0700 directory. */
export function writeJournal(dir: string, record: JournalRecord): string {
  ensurePrivateDir(dir, ErrorCodes.NETCONFIG);
  const path = journalPath(dir, record.owner.pid);
  writeFileAtomic(path, `${JSON.stringify(record, null, 1)}\n`, 0o600);
  return path;
}

function isRecord(v: unknown): v is JournalRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<JournalRecord>;
  return (
    r.version === 1 &&
    typeof r.owner?.pid === 'number' &&
    typeof r.before === 'object' &&
    Array.isArray(r.before?.routes4) &&
    Array.isArray(r.before?.routes6) &&
    typeof r.before?.resolvConf?.path === 'string' &&
    typeof r.intended?.gateway === 'string' &&
    typeof r.vpncStateDir === 'string' &&
    (r.host === undefined || isHostChanges(r.host))
  );
}

/** Reads a journal file (refusing symlinks and foreign or writable files); null when absent. */
export function readJournal(path: string): JournalRecord | null {
  const data = readPrivateFile(path, ErrorCodes.NETCONFIG);
  if (data === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new TandemError(ErrorCodes.NETCONFIG, `journal ${path} is not valid JSON`, { cause: err });
  }
  if (!isRecord(parsed)) throw new TandemError(ErrorCodes.NETCONFIG, `journal ${path} has an unexpected shape`);
  return parsed;
}

/**
 * Journal files in `dir`, oldest owner first by creation time. A missing directory means "no
 * journals"; a directory that is a symlink or not private is refused with E_NETCONFIG.
 */
export function listJournals(dir: string): string[] {
  try {
    checkPrivateDir(dir, ErrorCodes.NETCONFIG);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return readdirSync(dir)
    .filter((n) => NAME.test(n))
    .map((n) => join(dir, n));
}

/** The temporary file writeFileAtomic makes for a journal: `.session-OWNER.json.tmp-WRITER-HEX`. */
const TEMP_NAME = /^\.session-\d+\.json\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Deletes journal temp files whose writer is dead: a process killed between writing a new
 * journal version and renaming it over the old one leaves one behind (the old version stays
 * valid). Files of a live writer are left alone. Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    checkPrivateDir(dir, ErrorCodes.NETCONFIG);
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const writer = TEMP_NAME.exec(name)?.[1];
    if (!writer || pidAlive(Number(writer))) continue;
    if (removeFile(join(dir, name))) removed.push(name);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the journal of `pid` and makes the deletion durable. */
export function removeJournal(dir: string, pid: number): void {
  if (removeFile(journalPath(dir, pid))) fsyncDir(dir);
}
