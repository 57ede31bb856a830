/**
 * Verify-and-repair against a journal, shared by a clean disconnect (after vpnc-script's own
 * `disconnect`) and by crash recovery. Policy:
 *  - resolv.conf gets the journal's bytes back exactly (and its symlink, if it was one);
 *  - routes of the snapshot that are missing are re-added with `ip route replace` (this is what
 *    brings back the default route vpnc-script replaced with one via the now-dead TUN);
 *  - routes that are new since the snapshot are deleted only when they are ours: via the TUN, or
 *    to a destination we journaled (the gateway host route, split routes). Routes someone else
 *    added meanwhile (DHCP, the admin) are left alone;
 *  - policy rules are compared and reported, never changed: we do not add rules, so a difference
 *    was made by someone else.
 */
import { join } from 'node:path';
import {
  ip,
  linkExists,
  parseAddresses,
  parseRouteLines,
  routeArgs,
  routeDestination,
  routeDevice,
  routeSource,
} from './iproute.js';
import type { JournalRecord } from './journal.js';
import { restoreResolvConf } from './resolv.js';
import { removeFile } from '@tandem/common/safe-fs';

/** What a repair did. */
export interface RepairReport {
  /** Snapshot routes that were missing and re-added (family-prefixed, e.g. "4 default via …"). */
  routesRestored: string[];
  /** Our leftover routes that were deleted. */
  routesDeleted: string[];
  /** True when resolv.conf had to be rewritten. */
  resolvConfRestored: boolean;
  /** Rule lines that differ from the snapshot (reported only). */
  rulesDiffer: string[];
  /** vpnc-script state files of the owner pid that were removed. */
  vpncFilesRemoved: string[];
  /**
   * Snapshot routes not re-added because their device or their source address no longer exists
   * (an unplugged uplink, a new DHCP address): not a failure. Windows and macOS: a follow-up
   * that did not work (the DNS client's policy refresh), also not a failure.
   */
  skipped: string[];
  /** Steps that failed; a repair never throws for a single route. */
  failures: string[];
  /** Windows and macOS: DNS policy entries of ours that were removed (NRPT rule keys, dynamic-store keys). */
  dnsRemoved?: string[];
}

async function currentRoutes(family: 4 | 6): Promise<string[]> {
  const r = await ip([`-${family}`, 'route', 'show', 'table', 'main']);
  return r.ok ? parseRouteLines(r.stdout) : [];
}

function isOurs(line: string, family: 4 | 6, record: JournalRecord): boolean {
  if (record.tunDevice && routeDevice(line) === record.tunDevice) return true;
  const dest = routeDestination(line);
  const hostLen = family === 4 ? '/32' : '/128';
  if (dest === record.intended.gateway || dest === `${record.intended.gateway}${hostLen}`) return true;
  const ours = family === 4 ? record.intended.routes4 : record.intended.routes6;
  // A journaled "default" is only ours via the TUN (checked above): the original default is not.
  return dest !== 'default' && ours.includes(dest);
}

async function repairFamily(family: 4 | 6, record: JournalRecord, report: RepairReport): Promise<void> {
  const before = family === 4 ? record.before.routes4 : record.before.routes6;
  const beforeSet = new Set(before);
  let now = await currentRoutes(family);
  const nowSet = new Set(now);
  let addresses: Set<string> | null = null;
  for (const line of before) {
    if (nowSet.has(line)) continue;
    const dev = routeDevice(line);
    // The uplink itself went away (unplugged, renamed): nothing to restore it onto.
    if (dev && dev !== record.tunDevice && !(await linkExists(dev))) {
      report.skipped.push(`${family} ${line}`);
      continue;
    }
    // The address it leaves from is gone (renumbered while the tunnel was up): the kernel
    // refuses such a route, and the new address came with routes of its own.
    const src = routeSource(line);
    if (src !== undefined) {
      addresses ??= new Set(parseAddresses((await ip([`-${family}`, '-o', 'addr', 'show'])).stdout));
      if (!addresses.has(src)) {
        report.skipped.push(`${family} ${line}`);
        continue;
      }
    }
    // Kernel-generated routes (proto kernel) come back with their address; re-adding them is harmless.
    const r = await ip(routeArgs(family, 'replace', line));
    if (r.ok) report.routesRestored.push(`${family} ${line}`);
    else report.failures.push(`re-add ${family} ${line}: ${r.stderr.trim()}`);
  }
  now = await currentRoutes(family);
  for (const line of now) {
    if (beforeSet.has(line) || !isOurs(line, family, record)) continue;
    const r = await ip(routeArgs(family, 'del', line));
    if (r.ok) report.routesDeleted.push(`${family} ${line}`);
    else report.failures.push(`delete ${family} ${line}: ${r.stderr.trim()}`);
  }
}

async function compareRules(record: JournalRecord, report: RepairReport): Promise<void> {
  for (const [family, before] of [
    [4, record.before.rules4],
    [6, record.before.rules6],
  ] as const) {
    const r = await ip([`-${family}`, 'rule', 'show']);
    if (!r.ok) continue;
    const now = r.stdout.split('\n').filter(Boolean);
    const a = new Set(before);
    const b = new Set(now);
    for (const l of before) if (!b.has(l)) report.rulesDiffer.push(`-${family} ${l}`);
    for (const l of now) if (!a.has(l)) report.rulesDiffer.push(`+${family} ${l}`);
  }
}

/**
 * vpnc-script keeps `defaultroute.<pid>`, `defaultroute_ipv6.<pid>` and `resolv.conf-backup.<pid>`
 * after a crash (its clean disconnect removes them itself, so this is a no-op then). They are removed because a later session that happens to get the same pid
 * would otherwise "restore" this stale default route on its own disconnect.
 */
function removeVpncState(record: JournalRecord, report: RepairReport): void {
  for (const name of ['defaultroute', 'defaultroute_ipv6', 'resolv.conf-backup']) {
    const path = join(record.vpncStateDir, `${name}.${record.owner.pid}`);
    try {
      if (removeFile(path)) report.vpncFilesRemoved.push(path);
    } catch (err) {
      report.failures.push(`remove ${path}: ${(err as Error).message}`);
    }
  }
}

/** Brings the host back to the journal's snapshot (see the module comment for the policy). */
export async function repairFromJournal(record: JournalRecord): Promise<RepairReport> {
  const report: RepairReport = {
    routesRestored: [],
    routesDeleted: [],
    resolvConfRestored: false,
    rulesDiffer: [],
    vpncFilesRemoved: [],
    skipped: [],
    failures: [],
  };
  // DNS first: it is the change users notice (every lookup hangs on the dead VPN resolver).
  try {
    report.resolvConfRestored = restoreResolvConf(record.before.resolvConf);
  } catch (err) {
    report.failures.push(`resolv.conf: ${(err as Error).message}`);
  }
  await repairFamily(4, record, report);
  await repairFamily(6, record, report);
  await compareRules(record, report);
  removeVpncState(record, report);
  return report;
}
