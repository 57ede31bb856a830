/**
 * The installed profiles: every `*.xml` of each profile directory (user tunnel) and
 * `mgmttun/VpnMgmtTunProfile.xml` (machine tunnel), read in agent mode — root-owned, not
 * writable by group or others, no symlinks, parsed from the descriptor that was checked
 * (docs/attack-surface.md, "client profiles"). A refused or broken file is logged with its
 * path and reason and its last good version stays in force, so a tampered file can neither
 * change nor drop policy; a file that is gone is dropped. Reloaded on SIGHUP.
 *
 * Several directories (Tandem's own, then Secure Client's) are read in the order given, each
 * sorted by file name, and merged by @tandem/profile's rules: the host list is the union and the
 * first definition of a host name wins, so Tandem's directory takes precedence over Cisco's.
 * The machine tunnel profile is the first `mgmttun/` file found in that order. A directory that
 * does not exist is normal (most machines have no Secure Client); one that is refused keeps
 * the profiles it had in force.
 */
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, isTandemError, type Logger } from '@tandem/common';
import { privatePathPolicy } from '@tandem/common/safe-fs';
import {
  loadProfileFile,
  mergeProfiles,
  MGMT_PROFILE_FILE,
  type ClientProfile,
  type MergedProfiles,
} from '@tandem/profile';

/** How one file fared in the last load. */
export interface ProfileFileStatus {
  file: string;
  /** The directory it was read from (two directories may hold files of the same name). */
  dir: string;
  status: 'loaded' | 'refused' | 'kept-last-good';
  reason?: string;
  /** What the parser warned about (unknown elements, out-of-range values, dropped hosts). */
  warnings?: Array<{ line: number; message: string }>;
}

/** What the agent currently enforces. */
export interface ProfileSet {
  merged: MergedProfiles;
  /** The management tunnel profile, or null when none is installed (or none ever loaded). */
  machine: ClientProfile | null;
  files: ProfileFileStatus[];
}

const MGMT_DIR = 'mgmttun';

function reasonOf(err: unknown): string {
  if (isTandemError(err)) return typeof err.details['reason'] === 'string' ? err.details['reason'] : err.message;
  return err instanceof Error ? err.message : String(err);
}

/** True when `path` is a profile read from `dir` (its top level or its mgmttun/). */
function within(dir: string, path: string): boolean {
  const parent = dirname(path);
  return parent === dir || parent === join(dir, MGMT_DIR);
}

function missing(err: unknown): boolean {
  return isTandemError(err, ErrorCodes.PROFILE_IO) && err.details['errno'] === 'ENOENT';
}

/** Loads, keeps and reloads the profile set. */
export class ProfileStore {
  private good = new Map<string, ClientProfile>();
  private current: ProfileSet = { merged: mergeProfiles([]), machine: null, files: [] };

  /** `dirs` in precedence order, highest first. */
  constructor(
    private readonly dirs: readonly string[],
    private readonly log: Logger,
  ) {}

  /** The set in force. */
  get set(): ProfileSet {
    return this.current;
  }

  /** Re-reads every profile; never throws (a failure keeps what was in force). */
  async load(): Promise<ProfileSet> {
    const files: ProfileFileStatus[] = [];
    const next = new Map<string, ClientProfile>();
    for (const dir of this.dirs) {
      const names = await this.listDir(dir);
      if (names === null) {
        for (const [path, profile] of this.good) if (within(dir, path)) next.set(path, profile);
        files.push(...this.current.files.filter((f) => within(dir, join(f.dir, f.file))));
        continue;
      }
      for (const path of [...names.map((n) => join(dir, n)), join(dir, MGMT_DIR, MGMT_PROFILE_FILE)]) {
        const status = await this.loadOne(path, next);
        if (status) files.push(status);
      }
    }
    this.good = next;
    const userSources = [...next].filter(([, p]) => !p.managementTunnel).map(([file, profile]) => ({ file, profile }));
    const merged = mergeProfiles(userSources);
    for (const w of merged.warnings)
      this.log.warn('profile merge', { file: w.file, line: w.line, kind: w.kind, message: w.message });
    const machinePaths = this.dirs.map((d) => join(d, MGMT_DIR, MGMT_PROFILE_FILE)).filter((p) => next.has(p));
    for (const shadowed of machinePaths.slice(1))
      this.log.warn('management tunnel profile not used: one earlier in the search order wins', {
        file: shadowed,
        used: machinePaths[0],
      });
    this.current = { merged, machine: machinePaths[0] ? next.get(machinePaths[0])! : null, files };
    if (next.size === 0) this.log.warn('no profiles installed', { dirs: this.dirs.join(', ') });
    this.log.info('profiles loaded', {
      hosts: merged.hosts.length,
      files: files.filter((f) => f.status !== 'refused').length,
      machineProfile: this.current.machine !== null,
    });
    return this.current;
  }

  /** File names of candidate profiles, sorted; null when the directory itself is unusable. */
  private async listDir(dir: string): Promise<string[] | null> {
    try {
      const st = await lstat(dir);
      if (!st.isDirectory()) throw new Error('is not a directory (symbolic links are refused)');
      const policy = privatePathPolicy();
      if (policy.kind === 'windows-acl') {
        // Owner SID and DACL; adding files is harmless there (each file's own check refuses a stranger's).
        const why = policy.protectedRefusal(dir, { directory: true });
        if (why !== null) throw new Error(why);
      } else if (st.uid !== 0 || (st.mode & 0o022) !== 0)
        throw new Error('is not owned by root or is writable by group/others');
      const entries = await readdir(dir);
      return entries.filter((n) => n.toLowerCase().endsWith('.xml')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.log.debug('profile directory absent', { dir });
        return [];
      }
      this.log.error('profile directory refused; keeping the last good profiles', { dir, reason: reasonOf(err) });
      return null;
    }
  }

  private async loadOne(path: string, next: Map<string, ClientProfile>): Promise<ProfileFileStatus | null> {
    const file = basename(path);
    const dir = dirname(path);
    try {
      const parsed = await loadProfileFile(path, { requireRootOwned: true });
      const doc = parsed.document;
      if (doc.kind !== 'vpn') {
        // The local policy has its own path (--local-policy): one left here is not in force.
        this.log.info('not a VPN profile; ignored (the local policy is read from --local-policy)', {
          file: path,
          kind: doc.kind,
        });
        return null;
      }
      for (const w of parsed.warnings)
        this.log.warn('profile warning', { file: path, line: w.line, message: w.message });
      next.set(path, doc);
      const warnings = parsed.warnings.slice(0, 200).map((w) => ({ line: w.line, message: w.message }));
      return { file, dir, status: 'loaded', ...(warnings.length > 0 ? { warnings } : {}) };
    } catch (err) {
      if (missing(err)) return null;
      const reason = reasonOf(err);
      const previous = this.good.get(path);
      if (previous) {
        next.set(path, previous);
        this.log.error('profile refused; keeping its last good version', {
          file: path,
          reason,
          code: isTandemError(err) ? err.code : undefined,
        });
        return { file, dir, status: 'kept-last-good', reason };
      }
      this.log.error('profile refused', { file: path, reason, code: isTandemError(err) ? err.code : undefined });
      return { file, dir, status: 'refused', reason };
    }
  }
}
