/**
 * The Windows repair from a journal (a clean disconnect and a crash recovery alike): delete the
 * journaled routes through physical interfaces and the journaled NRPT rule keys, each only if it
 * is still there, then have the DNS client reread its policy. Nothing on the tunnel adapter is
 * touched: it goes away with the adapter. Every journaled value is parsed again before use.
 */
import { normalizeAddress, parsePrefix } from '@tandem/common';
import type { JournaledRoute } from './host-changes.js';
import { emptyRepairReport } from './host-network.js';
import type { ForwardRoute, IpHelperApi } from './iphlpapi-api-windows.js';
import type { JournalRecord } from './journal.js';
import type { NrptApi } from './nrpt-api-windows.js';
import { refreshDnsPolicy, removeNrptRule } from './nrpt-windows.js';
import type { RepairReport } from './repair.js';
import { isGone, win32Text, Win32 } from './win32-error-windows.js';

/** A route as the journal stores it (LUID in decimal). */
export function toJournal(r: ForwardRoute): JournaledRoute {
  return {
    family: r.family,
    destination: `${r.destination}/${r.prefix}`,
    nextHop: r.nextHop,
    interface: String(r.luid),
  };
}

/** The journal's route back as a row, or null when a value does not parse. */
export function fromJournal(r: JournaledRoute): ForwardRoute | null {
  const dest = parsePrefix(r.destination);
  const hop = normalizeAddress(r.nextHop);
  if (!dest || dest.hostBitsFixed || !hop || dest.family !== r.family || hop.family !== r.family) return null;
  if (!/^\d{1,20}$/.test(r.interface)) return null;
  return {
    family: r.family,
    luid: BigInt(r.interface),
    destination: dest.address,
    prefix: dest.prefix,
    nextHop: hop.address,
    metric: 0,
  };
}

/** Repairs the host from a Windows journal; failures are reported, never thrown. */
export function repairWindows(ipHelper: IpHelperApi, nrpt: NrptApi, record: JournalRecord): RepairReport {
  const report: RepairReport = { ...emptyRepairReport(), dnsRemoved: [] };
  const host = record.host;
  // No `host`: the session stopped before connect planned anything, so nothing was added.
  if (!host) return report;
  if (host.platform !== 'win32') {
    report.failures.push(`a ${host.platform} journal cannot be repaired on Windows`);
    return report;
  }
  for (const j of host.routes) {
    const route = fromJournal(j);
    const text = `${j.destination} via ${j.nextHop || 'link'} on LUID ${j.interface}`;
    if (!route) {
      report.failures.push(`refused journaled route ${JSON.stringify(j)}`);
      continue;
    }
    const status = ipHelper.DeleteIpForwardEntry2(route);
    if (status === Win32.SUCCESS) report.routesDeleted.push(`${j.family} ${text}`);
    else if (!isGone(status)) report.failures.push(win32Text('DeleteIpForwardEntry2', text, status));
  }
  for (const key of host.dnsKeys) {
    const outcome = removeNrptRule(nrpt, key);
    if (outcome === 'removed') report.dnsRemoved?.push(key);
    else if (outcome !== 'gone') report.failures.push(outcome);
  }
  // The DNS client rereads its local rules by itself as well: a refresh that fails is noted,
  // not a failure that would keep the journal.
  if ((report.dnsRemoved?.length ?? 0) > 0) report.skipped.push(...refreshDnsPolicy(nrpt));
  return report;
}
