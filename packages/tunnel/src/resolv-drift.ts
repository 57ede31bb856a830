/**
 * resolv.conf changed while a tunnel holds it. A DHCP client renewing a lease on the physical
 * network, a network manager or an administrator may write the file under a running tunnel. Two
 * things must not follow from that: the tunnel's DNS silently gone (lookups of internal names
 * fail, queries leak to the local network's resolver), and the physical network's new DNS lost
 * (the tunnel's close would restore the pre-tunnel copy, and trusted network detection would keep
 * judging the network by it). So each such write is classified against what the tunnel left in
 * the file (`JournalRecord.tunnelResolvConf`) and the tunnel's pushed resolvers:
 *
 * - `unchanged`: still what the tunnel left (our own re-apply, a touch);
 * - `merged`: different, but every tunnel resolver is still named — a resolver manager
 *   (resolvconf(8)) rebuilt the file with our part in it; nothing to undo;
 * - `reverted`: the pre-tunnel copy is back (someone "restored" it): the tunnel's DNS is re-applied;
 * - `physical`: rewritten without the tunnel's resolvers: this is the physical network's DNS now.
 *   It becomes the journal's `before` (restored at the close, read by TND) and the tunnel's DNS
 *   is re-applied.
 */
import { listJournals, readJournal, type JournalRecord } from './journal.js';
import { parseResolvConf, type ResolvConfInfo } from './resolv-parse.js';
import { RESOLV_CONF, snapshotResolvConf, type ResolvConfSnapshot } from './resolv.js';

/** See the module comment. */
export type ResolvConfDrift = 'unchanged' | 'merged' | 'reverted' | 'physical';

function sameFile(a: ResolvConfSnapshot, b: ResolvConfSnapshot): boolean {
  return a.kind === b.kind && a.target === b.target && a.contentBase64 === b.contentBase64;
}

function text(snap: ResolvConfSnapshot): string {
  return snap.contentBase64 === undefined ? '' : Buffer.from(snap.contentBase64, 'base64').toString('utf8');
}

/**
 * The tunnel's resolvers that its configuration step actually wrote into resolv.conf. Empty when
 * the file is not where the tunnel's DNS lives (no DNS pushed, systemd-resolved's stub file),
 * and vpnc-script's plain-file mode writes only the IPv4 ones.
 */
export function tunnelResolversInFile(record: JournalRecord): string[] {
  const applied = record.tunnelResolvConf;
  if (applied === undefined) return [];
  const named = new Set(parseResolvConf(text(applied)).dnsServers);
  return record.intended.dns.filter((s) => named.has(s));
}

/** How `now` relates to what the journaled tunnel left in resolv.conf (see the module comment). */
export function classifyResolvConf(record: JournalRecord, now: ResolvConfSnapshot): ResolvConfDrift {
  const applied = record.tunnelResolvConf;
  // Before the tunnel's connect step there is nothing of ours in the file to compare with.
  if (applied === undefined || sameFile(now, applied)) return 'unchanged';
  const ours = tunnelResolversInFile(record);
  // The tunnel does not keep its DNS in this file: any write is the physical network's.
  if (ours.length === 0) return 'physical';
  if (sameFile(now, record.before.resolvConf)) return 'reverted';
  const servers = new Set(parseResolvConf(text(now)).dnsServers);
  return ours.every((s) => servers.has(s)) ? 'merged' : 'physical';
}

/**
 * The physical network's resolv.conf while `record`'s tunnel holds the live file: the live file
 * itself when it was rewritten without the tunnel's resolvers, else the journal's pre-tunnel copy.
 */
export function physicalResolvConf(record: JournalRecord, now: ResolvConfSnapshot): ResolvConfInfo {
  const source = classifyResolvConf(record, now) === 'physical' ? now : record.before.resolvConf;
  return parseResolvConf(text(source));
}

/**
 * The physical network's DNS now, for trusted network detection: while a journaled tunnel holds
 * resolv.conf (the oldest, when a handover briefly overlaps two) it is {@link physicalResolvConf},
 * else the live file; null when there is no readable file. Throws on an unreadable journal.
 */
export function physicalDns(journalDir: string, resolvConf = RESOLV_CONF): ResolvConfInfo | null {
  const records = listJournals(journalDir)
    .map((p) => readJournal(p))
    .filter((r) => r !== null);
  records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const oldest = records[0];
  const now = snapshotResolvConf(resolvConf);
  if (oldest !== undefined) return physicalResolvConf(oldest, now);
  return now.contentBase64 === undefined ? null : parseResolvConf(text(now));
}
