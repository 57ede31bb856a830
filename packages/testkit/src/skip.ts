/**
 * Prerequisite checks for tests that need root, network namespaces or a Debian binary.
 * A suite that lacks a prerequisite is skipped with the reason in its name, like
 * openconnect's exit 77; `.ci/run` installs everything so CI runs them all.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** True when running as uid 0. */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Absolute path of an executable on PATH (or the sbin dirs), or null. */
export function which(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

let netnsOk: boolean | undefined;
/** True when this process may create network namespaces (root and a kernel that allows it). */
export function canNetns(): boolean {
  if (netnsOk !== undefined) return netnsOk;
  if (!isRoot || !which('ip')) return (netnsOk = false);
  const name = `tandem-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    netnsOk = true;
  } catch {
    netnsOk = false;
  }
  return netnsOk;
}

/**
 * Returns null when every prerequisite is present, else a reason such as
 * "needs root; needs ocserv (apt-get install ocserv)". Prerequisites: 'root', 'netns',
 * or a binary name.
 */
export function missing(...needs: string[]): string | null {
  const reasons: string[] = [];
  for (const need of needs) {
    if (need === 'root') {
      if (!isRoot) reasons.push('needs root');
    } else if (need === 'netns') {
      if (!canNetns()) reasons.push('needs network namespaces (root + ip netns)');
    } else if (!which(need)) {
      reasons.push(`needs ${need} (install it with apt-get; .ci/run does)`);
    }
  }
  return reasons.length ? reasons.join('; ') : null;
}

/** A suite title that shows why it was skipped. */
export function titled(title: string, reason: string | null): string {
  return reason ? `${title} [skipped: ${reason}]` : title;
}
