/**
 * One tunnel's network configuration lifecycle, journaled: snapshot + journal →
 * pre-init → (caller opens the TUN) → connect → … → disconnect → verify/repair → delete journal.
 * The journal is on disk before the first step that can change the host, and is only removed
 * once the host has been checked against it.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { writeFileAtomic } from '@tandem/common/safe-fs';
import type { ConfiguratorContext, NetworkConfigurator, StepResult } from './configurator.js';
import type { HostChanges } from './host-changes.js';
import { emptyRepairReport, type HostNetwork } from './host-network.js';
import { selectHostNetwork } from './host-network-select.js';
import {
  DEFAULT_JOURNAL_DIR,
  type HostSnapshot,
  processStartTicks,
  removeJournal,
  writeJournal,
  type IntendedChanges,
  type JournalPhase,
  type JournalRecord,
} from './journal.js';
import { validateInterfaceName, type NetworkConfig } from './network-config.js';
import type { RepairReport } from './repair.js';
import { RESOLV_CONF, restoreResolvConf, snapshotResolvConf } from './resolv.js';
import { classifyResolvConf, tunnelResolversInFile, type ResolvConfDrift } from './resolv-drift.js';

/** Options for {@link NetworkSession.begin}. */
export interface NetworkSessionOptions {
  configurator: NetworkConfigurator;
  /** The platform's routes-and-DNS backend (snapshot, repair); default {@link selectHostNetwork}'s. */
  host?: HostNetwork;
  /** Built by buildNetworkConfig / validateNetworkConfig: every value already checked. */
  config: NetworkConfig;
  /** Journal directory; default {@link DEFAULT_JOURNAL_DIR}. Tests pass a private temp dir. */
  journalDir?: string;
  /** Owner recorded in the journal and passed as VPNPID; default this process. */
  ownerPid?: number;
  /** The TUN name requested with `--interface`, passed as TUNDEV at pre-init like openconnect. */
  requestedTunDevice?: string;
  /** resolv.conf to snapshot and restore; default /etc/resolv.conf. */
  resolvConf?: string;
  /**
   * A "before" snapshot the caller started earlier (with the backend's `captureSnapshot`), so its
   * ip(8) calls overlap work such as authentication. It must have been started after anything
   * else this process does to the host; default: taken here.
   */
  snapshot?: Promise<HostSnapshot>;
  /** vpnc-script's state directory; default /var/run/vpnc. */
  vpncStateDir?: string;
}

/** Result of {@link NetworkSession.disconnect}. */
export interface DisconnectReport {
  /** The configurator's disconnect step, or its error message when it failed (repair still ran). */
  step: StepResult | { error: string };
  repair: RepairReport;
  /** Milliseconds spent verifying and repairing. */
  repairMs: number;
}

function intendedChanges(v: NetworkConfig): IntendedChanges {
  const r4 = [...v.include4, ...v.exclude4].map((r) =>
    r.prefix === 0 ? 'default' : r.prefix === 32 ? r.address : `${r.address}/${r.prefix}`,
  );
  const r6 = [...v.include6, ...v.exclude6].map((r) =>
    r.prefix === 0 ? 'default' : r.prefix === 128 ? r.address : `${r.address}/${r.prefix}`,
  );
  if (v.ipv4 && v.include4.length === 0) r4.push('default');
  if (v.ipv6 && v.include6.length === 0) r6.push('default');
  return {
    gateway: v.gateway.address,
    routes4: r4,
    routes6: r6,
    dns: [...v.dns4, ...v.dns6],
    domains: [...v.domains, ...v.splitDns],
  };
}

/** What {@link NetworkSession.followResolvConf} found and did. */
export interface ResolvConfFollowUp {
  drift: ResolvConfDrift;
  /** The physical network's new resolv.conf became the journal's pre-tunnel copy. */
  adopted: boolean;
  /** The tunnel's DNS was written back into resolv.conf. */
  reapplied: boolean;
  /** Not written back: another program rewrote the file {@link REAPPLY_LIMIT} times within a minute. */
  contested: boolean;
}

/** Re-applies of the tunnel's DNS allowed per minute before giving way to a program that keeps rewriting. */
export const REAPPLY_LIMIT = 5;

/** A journaled network configuration for one tunnel. */
export class NetworkSession {
  /** The journal as last written. */
  record: JournalRecord;
  /** Duration of each completed step, in milliseconds. */
  readonly timings: Partial<Record<'snapshot' | 'pre-init' | 'connect' | 'disconnect' | 'repair', number>> = {};
  private closed = false;
  /** When the tunnel's DNS was last written back (for {@link REAPPLY_LIMIT}). */
  private reapplies: number[] = [];

  private constructor(
    private readonly configurator: NetworkConfigurator,
    private readonly host: HostNetwork,
    private readonly config: NetworkConfig,
    private readonly journalDir: string,
    record: JournalRecord,
  ) {
    this.record = record;
  }

  /**
   * Snapshots the host, writes the journal and runs pre-init. The configuration was validated
   * when it was built; only the requested TUN name is checked here.
   */
  static async begin(options: NetworkSessionOptions): Promise<NetworkSession> {
    const requested =
      options.requestedTunDevice === undefined ? undefined : validateInterfaceName(options.requestedTunDevice);
    const ownerPid = options.ownerPid ?? process.pid;
    const journalDir = options.journalDir ?? DEFAULT_JOURNAL_DIR;
    let t = performance.now();
    const host = options.host ?? (await selectHostNetwork());
    const before = await (options.snapshot ?? host.captureSnapshot(options.resolvConf ?? RESOLV_CONF));
    const record: JournalRecord = {
      version: 1,
      owner: { pid: ownerPid, startTicks: processStartTicks(ownerPid) },
      createdAt: new Date().toISOString(),
      phase: 'pre-init',
      before,
      intended: intendedChanges(options.config),
      vpncStateDir: options.vpncStateDir ?? '/var/run/vpnc',
    };
    writeJournal(journalDir, record);
    const session = new NetworkSession(options.configurator, host, options.config, journalDir, record);
    session.timings.snapshot = performance.now() - t;
    t = performance.now();
    try {
      await options.configurator.preInit(options.config, { ownerPid, ...(requested ? { tunDevice: requested } : {}) });
    } catch (err) {
      // pre-init changes nothing we track, but the journal must not outlive a failed start.
      removeJournal(journalDir, ownerPid);
      throw err;
    }
    session.timings['pre-init'] = performance.now() - t;
    return session;
  }

  /** The validated configuration this session applies (routes, DNS, MTU); never secret. */
  get networkConfig(): NetworkConfig {
    return this.config;
  }

  private phase(phase: JournalPhase, tunDevice?: string): void {
    this.record = { ...this.record, phase, ...(tunDevice ? { tunDevice } : {}) };
    writeJournal(this.journalDir, this.record);
  }

  /** Journals the TUN name, then applies addresses, routes and DNS; on failure repairs and rethrows. */
  async connect(tunDevice: string): Promise<StepResult> {
    if (this.closed) throw new TandemError(ErrorCodes.NETCONFIG, 'network session already closed');
    const tun = validateInterfaceName(tunDevice, 'tunDevice');
    this.phase('connecting', tun);
    const t = performance.now();
    try {
      const step = await this.configurator.connect(this.config, { ...this.ctx(), tunDevice: tun });
      this.timings.connect = performance.now() - t;
      // Only where the tunnel's DNS lives in resolv.conf is there a written file to follow.
      if (this.host.followsResolvConf)
        this.record = { ...this.record, tunnelResolvConf: snapshotResolvConf(this.record.before.resolvConf.path) };
      this.phase('connected');
      return step;
    } catch (err) {
      await this.disconnect();
      throw err;
    }
  }

  /** Runs the attempt-reconnect step (TUN still up). */
  attemptReconnect(): Promise<StepResult> {
    return this.configurator.attemptReconnect(this.config, this.ctx());
  }

  /** Runs the reconnect step. */
  reconnect(): Promise<StepResult> {
    return this.configurator.reconnect(this.config, this.ctx());
  }

  private ctx(): ConfiguratorContext {
    return {
      ownerPid: this.record.owner.pid,
      ...(this.record.tunDevice ? { tunDevice: this.record.tunDevice } : {}),
      journal: (changes) => this.journalHost(changes),
    };
  }

  /** Journals what a Windows/macOS step is about to add, before it adds it. */
  private journalHost(changes: HostChanges): void {
    this.record = { ...this.record, host: changes };
    writeJournal(this.journalDir, this.record);
  }

  /**
   * Linux only (a no-op where the backend does not keep DNS in resolv.conf: Windows, macOS).
   * resolv.conf may have been written since the tunnel configured it (resolv-drift.ts): a write
   * carrying the physical network's DNS becomes the journal's pre-tunnel copy, so the close
   * restores it and TND judges by it (the journal is rewritten before anything else changes), and
   * the tunnel's DNS is written back unless `reapply` is false or the file is contested.
   */
  followResolvConf(opts: { reapply?: boolean } = {}): ResolvConfFollowUp {
    const result: ResolvConfFollowUp = { drift: 'unchanged', adopted: false, reapplied: false, contested: false };
    const applied = this.record.tunnelResolvConf;
    if (this.closed || applied === undefined) return result;
    const now = snapshotResolvConf(applied.path);
    result.drift = classifyResolvConf(this.record, now);
    if (result.drift === 'unchanged') return result;
    if (result.drift === 'merged') {
      this.record = { ...this.record, tunnelResolvConf: now };
      writeJournal(this.journalDir, this.record);
      return result;
    }
    const ours = tunnelResolversInFile(this.record).length > 0;
    if (result.drift === 'physical') {
      this.record = {
        ...this.record,
        before: { ...this.record.before, resolvConf: now },
        ...(ours ? {} : { tunnelResolvConf: now }),
      };
      writeJournal(this.journalDir, this.record);
      this.refreshVpncBackup(now.contentBase64);
      result.adopted = true;
    }
    if (!ours || opts.reapply === false) return result;
    const t = Date.now();
    this.reapplies = this.reapplies.filter((at) => t - at < 60_000);
    if (this.reapplies.length >= REAPPLY_LIMIT) {
      result.contested = true;
      return result;
    }
    this.reapplies.push(t);
    result.reapplied = restoreResolvConf(applied);
    return result;
  }

  /**
   * vpnc-script's plain-file mode puts its own backup back on `disconnect`; it gets the physical
   * network's new file too, so the host is right between that step and the journal's repair.
   */
  private refreshVpncBackup(contentBase64: string | undefined): void {
    if (contentBase64 === undefined) return;
    const path = join(this.record.vpncStateDir, `resolv.conf-backup.${this.record.owner.pid}`);
    try {
      if (!lstatSync(path).isFile()) return;
      writeFileAtomic(path, Buffer.from(contentBase64, 'base64'), 0o644);
    } catch {
      // No backup (another resolv.conf mode) or unwritable: the journal's repair still restores it.
    }
  }

  /**
   * Runs the disconnect step (if connect was reached), then verifies the host against the
   * journal and repairs any difference, then deletes the journal. Call it before closing the
   * TUN so routes via the TUN are removed by the script rather than by the kernel.
   * Idempotent: a second call returns an empty report.
   */
  async disconnect(): Promise<DisconnectReport> {
    let step: DisconnectReport['step'] = { error: 'not connected' };
    if (this.closed) {
      return { step: { error: 'already closed' }, repair: emptyRepairReport(), repairMs: 0 };
    }
    try {
      // A DHCP write not noticed yet must still be what the close restores.
      this.followResolvConf({ reapply: false });
    } catch {
      // Unreadable resolv.conf or journal: the repair below reports what it cannot do.
    }
    this.closed = true;
    if (this.record.tunDevice) {
      this.phase('disconnecting');
      const t = performance.now();
      try {
        step = await this.configurator.disconnect(this.config, this.ctx());
      } catch (err) {
        step = { error: (err as Error).message };
      }
      this.timings.disconnect = performance.now() - t;
    }
    const t = performance.now();
    const repair = await this.host.repair(this.record);
    this.timings.repair = performance.now() - t;
    // A failed repair keeps the journal so recover() can try again after this process exits.
    if (repair.failures.length === 0) removeJournal(this.journalDir, this.record.owner.pid);
    return { step, repair, repairMs: this.timings.repair };
  }
}
