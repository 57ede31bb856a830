/**
 * The installed profiles: every `*.xml` of the profile directory (user tunnel) and
 * `mgmttun/VpnMgmtTunProfile.xml` (machine tunnel), read in agent mode — root-owned, not
 * writable by group or others, no symlinks, parsed from the descriptor that was checked
 * (docs/attack-surface.md, "client profiles"). A refused or broken file is logged with its path and reason and
 * its last good version stays in force, so a tampered file can neither change nor drop
 * policy; a file that is gone is dropped. Reloaded on SIGHUP.
 */
import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCodes, isTandemError, type Logger } from '@tandem/common';
import { loadProfileFile, mergeProfiles, MGMT_PROFILE_FILE, type ClientProfile, type MergedProfiles } from '@tandem/profile';

/** How one file fared in the last load. */
export interface ProfileFileStatus {
  file: string;
  status: 'loaded' | 'refused' | 'kept-last-good';
  reason?: string;
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

function missing(err: unknown): boolean {
  return isTandemError(err, ErrorCodes.PROFILE_IO) && err.details['errno'] === 'ENOENT';
}

/** Loads, keeps and reloads the profile set. */
export class ProfileStore {
  private good = new Map<string, ClientProfile>();
  private current: ProfileSet = { merged: mergeProfiles([]), machine: null, files: [] };

  constructor(private readonly dir: string, private readonly log: Logger) {}

  /** The set in force. */
  get set(): ProfileSet {
    return this.current;
  }

  /** Re-reads every profile; never throws (a failure keeps what was in force). */
  async load(): Promise<ProfileSet> {
    const files: ProfileFileStatus[] = [];
    const names = await this.listDir();
    if (names === null) return this.current;
    const paths = names.map((n) => join(this.dir, n));
    paths.push(join(this.dir, MGMT_DIR, MGMT_PROFILE_FILE));
    const next = new Map<string, ClientProfile>();
    for (const path of paths) {
      const status = await this.loadOne(path, next);
      if (status) files.push(status);
    }
    this.good = next;
    const userSources = [...next].filter(([, p]) => !p.managementTunnel).map(([file, profile]) => ({ file, profile }));
    const merged = mergeProfiles(userSources);
    for (const w of merged.warnings) this.log.warn('profile merge', { file: w.file, line: w.line, kind: w.kind, message: w.message });
    const machinePath = join(this.dir, MGMT_DIR, MGMT_PROFILE_FILE);
    this.current = { merged, machine: next.get(machinePath) ?? null, files };
    this.log.info('profiles loaded', { hosts: merged.hosts.length, files: files.filter((f) => f.status !== 'refused').length, machineProfile: this.current.machine !== null });
    return this.current;
  }

  /** File names of candidate profiles, sorted; null when the directory itself is unusable. */
  private async listDir(): Promise<string[] | null> {
    try {
      const st = await lstat(this.dir);
      if (!st.isDirectory()) throw new Error('is not a directory (symbolic links are refused)');
      if (st.uid !== 0 || (st.mode & 0o022) !== 0) throw new Error('is not owned by root or is writable by group/others');
      const entries = await readdir(this.dir);
      return entries.filter((n) => n.toLowerCase().endsWith('.xml')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.log.warn('profile directory missing; no profiles installed', { dir: this.dir });
        return [];
      }
      this.log.error('profile directory refused; keeping the last good profiles', { dir: this.dir, reason: reasonOf(err) });
      return null;
    }
  }

  private async loadOne(path: string, next: Map<string, ClientProfile>): Promise<ProfileFileStatus | null> {
    const file = basename(path);
    try {
      const parsed = await loadProfileFile(path, { requireRootOwned: true });
      const doc = parsed.document;
      if (doc.kind !== 'vpn') {
        this.log.info('not a VPN profile; ignored', { file: path, kind: doc.kind });
        return null;
      }
      for (const w of parsed.warnings) this.log.warn('profile warning', { file: path, line: w.line, message: w.message });
      next.set(path, doc);
      return { file, status: 'loaded' };
    } catch (err) {
      if (missing(err)) return null;
      const reason = reasonOf(err);
      const previous = this.good.get(path);
      if (previous) {
        next.set(path, previous);
        this.log.error('profile refused; keeping its last good version', { file: path, reason, code: isTandemError(err) ? err.code : undefined });
        return { file, status: 'kept-last-good', reason };
      }
      this.log.error('profile refused', { file: path, reason, code: isTandemError(err) ? err.code : undefined });
      return { file, status: 'refused', reason };
    }
  }
}
