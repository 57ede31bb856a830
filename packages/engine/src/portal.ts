/**
 * Captive portals (docs/always-on.md#captive-portals): a hotel network answers a plain-HTTP
 * request with a redirect or its login page until the user signs in, and no gateway can be
 * reached before. The engine asks the {@link PortalProbe} port when the network changes or a
 * connect fails while no tunnel is up, and again every recheck period while a portal is there;
 * with Always-On and `AllowCaptivePortalRemediation`, the block opens to the portal for the
 * remediation time the profile allows.
 */
import type { Clock, TimerHandle } from './ports.js';

/** What one probe found. */
export interface PortalCheck {
  /** `unknown`: the probe could not tell (no network, no answer). */
  state: 'none' | 'detected' | 'unknown';
  /** The portal's addresses (where its redirect or page leads), when detected. */
  addresses?: string[];
  /** In words, for logs: the status, the redirect's host. Never secret. */
  detail?: string;
}

/** Probes the physical network for a captive portal. Must settle (and not throw) within a few seconds. */
export interface PortalProbe {
  check(signal: AbortSignal): Promise<PortalCheck>;
}

/** The remediation the profile allows (`AllowCaptivePortalRemediation`, timeout in minutes). */
export interface RemediationPolicy {
  allowed: boolean;
  minutes: number;
}

/** How often a detected portal is probed again to notice the user signed in. */
export const PORTAL_RECHECK_MS = 15_000;

/** Probes and remembers; one probe at a time, the newest request wins. */
export class PortalWatch {
  private found: PortalCheck = { state: 'unknown' };
  private remediationUntil = 0;
  private recheck: TimerHandle | null = null;
  private expiry: TimerHandle | null = null;
  private running: AbortController | null = null;
  private generation = 0;

  constructor(
    private readonly probe: PortalProbe | undefined,
    private readonly clock: Clock,
    private readonly changed: (check: PortalCheck) => void,
  ) {}

  /** The last result. */
  get state(): PortalCheck['state'] {
    return this.found.state;
  }

  /** The portal's addresses while a remediation window is open, else null. */
  remediation(): { addresses: string[] } | null {
    if (this.found.state !== 'detected' || this.clock.now() >= this.remediationUntil) return null;
    return { addresses: [...(this.found.addresses ?? [])] };
  }

  /**
   * Probes now. `remediation` says what a newly found portal may get; a portal already being
   * remediated keeps its window (the profile's timeout is per portal, not per probe).
   */
  async check(remediation: RemediationPolicy): Promise<void> {
    if (!this.probe) return;
    const generation = ++this.generation;
    this.running?.abort();
    const abort = new AbortController();
    this.running = abort;
    let result: PortalCheck;
    try {
      result = await this.probe.check(abort.signal);
    } catch (err) {
      result = { state: 'unknown', detail: err instanceof Error ? err.message : String(err) };
    }
    if (generation !== this.generation) return;
    this.running = null;
    const was = this.found.state;
    this.found = result;
    if (result.state === 'detected') {
      if (was !== 'detected' && remediation.allowed && remediation.minutes > 0) {
        this.remediationUntil = this.clock.now() + remediation.minutes * 60_000;
        this.schedule('expiry', remediation.minutes * 60_000, () => this.changed(this.found));
      }
      this.schedule('recheck', PORTAL_RECHECK_MS, () => void this.check(remediation));
    } else {
      this.remediationUntil = 0;
      this.cancel();
    }
    this.changed(result);
  }

  /** Forgets the portal (a tunnel came up, or the network is trusted) and stops probing. */
  clear(): void {
    this.generation += 1;
    this.running?.abort();
    this.running = null;
    this.cancel();
    this.remediationUntil = 0;
    if (this.found.state !== 'unknown') {
      this.found = { state: 'unknown' };
      this.changed(this.found);
    }
  }

  private schedule(which: 'recheck' | 'expiry', ms: number, fn: () => void): void {
    const old = which === 'recheck' ? this.recheck : this.expiry;
    if (old !== null) {
      if (which === 'expiry') return; // the window already runs
      this.clock.clearTimeout(old);
    }
    const handle = this.clock.setTimeout(() => {
      if (which === 'recheck') this.recheck = null;
      else this.expiry = null;
      fn();
    }, ms);
    if (which === 'recheck') this.recheck = handle;
    else this.expiry = handle;
  }

  private cancel(): void {
    for (const h of [this.recheck, this.expiry]) if (h !== null) this.clock.clearTimeout(h);
    this.recheck = null;
    this.expiry = null;
  }
}
