/**
 * The seam between a tunnel session and whatever changes the host's addresses, routes and DNS.
 * On Linux that is the system vpnc-script ({@link VpncScriptConfigurator}; an in-process netlink
 * implementation can replace it later, the script costs ~50 ms per connect); Windows and macOS
 * have their own, made by their HostNetwork backend (host-network.ts).
 */
import type { HostChanges } from './host-changes.js';
import type { NetworkConfig } from './network-config.js';
import type { ScriptReason } from './script-env.js';

/** Facts a configurator needs besides the pushed configuration. */
export interface ConfiguratorContext {
  /** The tunnel interface; absent only at pre-init when no name was requested. */
  tunDevice?: string;
  /** Process that owns the tunnel (VPNPID). */
  ownerPid: number;
  /**
   * Writes down what a step is about to add outside the tunnel interface, before it adds it;
   * each call replaces the previous list. NetworkSession provides it. The Windows and macOS
   * configurators refuse to change the host without it; vpnc-script does not use it (the
   * snapshot taken before is its journal).
   */
  journal?: (changes: HostChanges) => void;
}

/** Outcome of one configuration step. */
export interface StepResult {
  reason: ScriptReason;
  /** Wall time of the step in milliseconds. */
  ms: number;
  /** Diagnostic output (script stdout/stderr); never contains secrets, but may contain the banner. */
  output: string;
}

/** Applies and removes a tunnel's network configuration; the same five steps openconnect drives. */
export interface NetworkConfigurator {
  /** A short name for logs ("vpnc-script"). */
  readonly kind: string;
  /** Before the TUN device exists. */
  preInit(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult>;
  /** TUN exists: add addresses, MTU, routes and DNS. */
  connect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult>;
  /** Undo everything `connect` did. */
  disconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult>;
  /** Before each reconnect attempt while the TUN stays up (re-pins the gateway host route). */
  attemptReconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult>;
  /** After the session was re-established. */
  reconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult>;
}
