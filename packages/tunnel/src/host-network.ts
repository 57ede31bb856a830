/**
 * The routes-and-DNS seam (docs/platforms.md): what a {@link NetworkSession} and `recover()` need
 * from the operating system, grouped as one backend per platform — make the configurator that
 * applies a tunnel's addresses, routes and DNS, take the "before" snapshot the journal starts
 * from, and repair the host from a journal record (after a clean disconnect or a crash).
 *
 * Linux (`host-network-linux.ts`) wraps vpnc-script, `ip` and resolv.conf unchanged; Windows
 * (`host-network-windows.ts`: IP Helper API, NRPT) and macOS (`host-network-darwin.ts`: `route`,
 * `ifconfig`, `scutil`) journal what they add in `JournalRecord.host` and remove exactly that.
 * {@link selectHostNetwork} (host-network-select.ts) picks one at start-up.
 */
import type { NetworkConfigurator } from './configurator.js';
import type { HostSnapshot, JournalRecord } from './journal.js';
import type { RepairReport } from './repair.js';

/** The platforms with a backend. */
export type HostPlatform = 'linux' | 'win32' | 'darwin';

/** Options for {@link HostNetwork.configurator}. */
export interface HostConfiguratorOptions {
  /** Linux: the vpnc-script to run (default: the system's); ignored elsewhere. */
  script?: string;
}

/** One platform's way of changing and repairing the host's routes and DNS. */
export interface HostNetwork {
  readonly platform: HostPlatform;
  /**
   * True where the tunnel's DNS lives in resolv.conf, so NetworkSession follows rewrites of that
   * file under a running tunnel (resolv-drift.ts). Linux only: on Windows and macOS the DNS is
   * per-interface policy that a DHCP renewal does not overwrite, and following it is a no-op.
   */
  readonly followsResolvConf: boolean;
  /** A configurator for one session's five steps. */
  configurator(options?: HostConfiguratorOptions): NetworkConfigurator;
  /**
   * What the journal starts from. Linux: routes, rules and resolv.conf. Windows and macOS add
   * rather than replace, and journal each addition in `JournalRecord.host` when they make it, so
   * their snapshot is {@link emptyHostSnapshot}.
   */
  captureSnapshot(resolvConf?: string): Promise<HostSnapshot>;
  /** Brings the host back to the journal; never throws for one item (they go to `failures`). */
  repair(record: JournalRecord): Promise<RepairReport>;
  /**
   * Waits up to `timeoutMs` for a dead owner's tunnel interface to disappear before its journal
   * is repaired (Linux: the kernel unregisters the TUN slightly after the process is reaped).
   * Resolves at once where the repair never touches the tunnel interface (Windows, macOS).
   */
  waitForInterfaceGone(name: string, timeoutMs: number): Promise<void>;
}

/** The "before" snapshot of a backend that journals its additions instead (Windows, macOS). */
export function emptyHostSnapshot(): HostSnapshot {
  return { routes4: [], routes6: [], rules4: [], rules6: [], resolvConf: { path: '', kind: 'missing' } };
}

/** A repair report with nothing in it yet. */
export function emptyRepairReport(): RepairReport {
  return {
    routesRestored: [],
    routesDeleted: [],
    resolvConfRestored: false,
    rulesDiffer: [],
    vpncFilesRemoved: [],
    skipped: [],
    failures: [],
  };
}
