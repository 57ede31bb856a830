/**
 * The macOS repair from a journal (a clean disconnect and a crash recovery alike): delete the
 * journaled routes through physical interfaces ("not in table" counts as already gone) and
 * remove the journaled dynamic-store keys of our service. Routes on the utun interface go away
 * with it. Every journaled value is parsed again, and only keys of our service are removed.
 */
import type { DarwinCommands } from './commands-api-darwin.js';
import { DARWIN_COMMANDS } from './commands-api-darwin.js';
import { emptyRepairReport } from './host-network.js';
import type { JournalRecord } from './journal.js';
import type { RepairReport } from './repair.js';
import { commandError, fromJournal, notInTable, routeArgs } from './route-darwin.js';
import { isServiceKey, removeScript } from './scutil-darwin.js';

/** Repairs the host from a macOS journal; failures are reported, never thrown. */
export async function repairDarwin(cmds: DarwinCommands, record: JournalRecord): Promise<RepairReport> {
  const report: RepairReport = { ...emptyRepairReport(), dnsRemoved: [] };
  const host = record.host;
  // No `host`: the session stopped before connect planned anything, so nothing was added.
  if (!host) return report;
  if (host.platform !== 'darwin') {
    report.failures.push(`a ${host.platform} journal cannot be repaired on macOS`);
    return report;
  }
  for (const j of host.routes) {
    const route = fromJournal(j);
    if (!route) {
      report.failures.push(`refused journaled route ${JSON.stringify(j)}`);
      continue;
    }
    const args = routeArgs('delete', route);
    const r = await cmds.route(args);
    if (r.code === 0) report.routesDeleted.push(`${j.family} ${j.destination} via ${j.nextHop || j.interface}`);
    else if (!notInTable(r)) report.failures.push(commandError(DARWIN_COMMANDS.route, args, r).message);
  }
  const keys = host.dnsKeys.filter((k) => {
    if (isServiceKey(k)) return true;
    report.failures.push(`refused to remove ${JSON.stringify(k)}: not a dynamic-store key of ours`);
    return false;
  });
  if (keys.length > 0) {
    const r = await cmds.scutil(removeScript(keys));
    // Removing a key that is not there is no error for scutil: the keys are gone either way.
    if (r.code === 0) report.dnsRemoved?.push(...keys);
    else report.failures.push(commandError(DARWIN_COMMANDS.scutil, [], r).message);
  }
  return report;
}
