/**
 * Always-On (docs/always-on.md): whether the fail-closed block should be in place and what it
 * lets through. Pure: engine.ts feeds it the user profiles' AutomaticVPNPolicy, the verdict of
 * trusted network detection under that policy, where the tunnels are and whether a connect
 * failed, and hands the answer to the {@link Firewall} port.
 *
 * The block stands while Always-On applies (policy and Always-On enabled, network untrusted)
 * whatever the tunnels do — connecting, reconnecting, up (the tunnel's interface passes) — so
 * nothing leaks in the gaps between them. `ConnectFailurePolicy` Open lifts it after a failed
 * connect until the network changes or a tunnel comes up; Closed keeps it.
 *
 * While a tunnel is open, what its configuration sends outside it passes too (everything but a
 * split-include tunnel's networks, its split-exclude networks, the local LAN when allowed), as
 * destination rules rather than by interface: when the agent dies and the TUN goes, the
 * tunnel's networks are blocked and the rest stays as the split policy had it.
 */
import type { AutomaticVpnPolicy } from '@tandem/profile';
import type { SplitFamily, SplitRouting } from './ports.js';
import type { TndVerdict } from './tnd.js';

/** What the firewall must let through while it blocks. */
export interface BlockRequest {
  /** Gateway URLs of every profile (the adapter resolves and pins their addresses). */
  gateways: string[];
  /** Interface of the tunnel holding the network, when one is open. */
  tunnel?: string;
  /**
   * Destinations outside the tunnel that pass: the open tunnel's split policy, or with none open
   * and ApplyLastVPNLocalResourceRules, the last tunnel's split-exclude networks and local LAN.
   * Only families with something to let through are present.
   */
  outside?: SplitRouting;
  /** AllowedHosts: host names (the adapter resolves them), addresses and CIDR ranges. */
  allowedHosts?: string[];
  /** Captive-portal remediation in progress: the portal's addresses. */
  portal?: { addresses: string[] };
}

/** Installs, replaces or (null) removes the block. Must settle; a rejection is logged. */
export interface Firewall {
  apply(block: BlockRequest | null): Promise<void>;
}

/** Everything the decision looks at. */
export interface AlwaysOnInputs {
  serviceEnabled: boolean;
  /** The user profiles' policy; null without user profiles. */
  policy: AutomaticVpnPolicy | null;
  /** TND under that policy. */
  verdict: TndVerdict;
  /** A connect failed under ConnectFailurePolicy Open since the network last changed. */
  failedOpen: boolean;
  gateways: string[];
  tunnel: string | null;
  /** The open tunnel's split policy (with `tunnel`), when its plane reports one. */
  split?: SplitRouting | null;
  /** The last tunnel's split-exclude networks and local LAN (see {@link localRules}). */
  lastLocal?: SplitRouting | null;
  portal: { addresses: string[] } | null;
}

/** The decision and its reason (status and logs). */
export interface AlwaysOnDecision {
  block: BlockRequest | null;
  reason: string;
}

/** Whether Always-On applies at all under `policy` (enabled, with TND enabled). */
export function alwaysOnEnabled(policy: AutomaticVpnPolicy | null): boolean {
  return policy !== null && policy.enabled && policy.alwaysOn.enabled;
}

/**
 * The "local resource rules" of a split policy (ApplyLastVPNLocalResourceRules): its
 * split-exclude networks and local LAN, without the split-include complement, which only
 * means something while the tunnel carries the included networks.
 */
export function localRules(split: SplitRouting): SplitRouting {
  const local = (f: SplitFamily | undefined): SplitFamily | undefined =>
    f && { include: [], exclude: [...f.exclude], localLan: f.localLan };
  return compact({ ipv4: local(split.ipv4), ipv6: local(split.ipv6) });
}

/** Keeps only the families that let something through; an empty policy is no policy. */
function compact(split: SplitRouting): SplitRouting {
  const useful = (f: SplitFamily | undefined): f is SplitFamily =>
    f !== undefined && (f.include.length > 0 || f.exclude.length > 0 || f.localLan);
  return {
    ...(useful(split.ipv4) ? { ipv4: structuredClone(split.ipv4) } : {}),
    ...(useful(split.ipv6) ? { ipv6: structuredClone(split.ipv6) } : {}),
  };
}

/** Derives the block. */
export function decideBlock(i: AlwaysOnInputs): AlwaysOnDecision {
  if (!i.serviceEnabled) return { block: null, reason: 'service stopped' };
  if (!alwaysOnEnabled(i.policy) || i.policy === null) return { block: null, reason: 'Always-On is off' };
  if (i.verdict === 'trusted') return { block: null, reason: 'trusted network' };
  if (i.verdict === 'unknown') return { block: null, reason: 'network trust unknown' };
  if (i.failedOpen) return { block: null, reason: 'connect failed and ConnectFailurePolicy is Open' };
  const ao = i.policy.alwaysOn;
  const source = i.tunnel ? i.split : ao.applyLastVpnLocalResourceRules ? i.lastLocal : null;
  const outside = source ? compact(source) : {};
  return {
    block: {
      gateways: [...i.gateways],
      ...(i.tunnel ? { tunnel: i.tunnel } : {}),
      ...(outside.ipv4 || outside.ipv6 ? { outside } : {}),
      ...(ao.allowedHosts.length > 0 ? { allowedHosts: [...ao.allowedHosts] } : {}),
      ...(i.portal ? { portal: { addresses: [...i.portal.addresses] } } : {}),
    },
    reason: i.tunnel ? 'Always-On: untrusted network, tunnel up' : 'Always-On: untrusted network, no tunnel up',
  };
}

/** Whether a block lets the host's own networks through (they change with the network). */
function usesLocalLan(block: BlockRequest | null): boolean {
  return block?.outside?.ipv4?.localLan === true || block?.outside?.ipv6?.localLan === true;
}

/**
 * Applies decisions one at a time, newest wins: a change while an `apply` runs is applied
 * right after it, and equal consecutive decisions are applied once — until {@link refresh}.
 */
export class BlockApplier {
  private applied = 'unset';
  private wanted: BlockRequest | null = null;
  private running: Promise<void> | null = null;
  private epoch = 0;

  constructor(
    private readonly firewall: Firewall,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Asks for `block`; resolves when it (or a newer wish) is applied. */
  set(block: BlockRequest | null): Promise<void> {
    this.wanted = block;
    this.running ??= this.drain().finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Makes the next {@link set} apply even an unchanged decision: what the firewall derives from
   * the host (the local networks) changed.
   */
  refresh(): void {
    this.epoch += 1;
  }

  /** Resolves once nothing is being applied. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private key(): string {
    return `${this.epoch}:${JSON.stringify(this.wanted)}`;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const block = this.wanted;
      const key = this.key();
      if (key === this.applied) return;
      try {
        await this.firewall.apply(block);
        this.applied = key;
      } catch (err) {
        this.onError(err);
        // Leave `applied` as it was so the next decision tries again.
        if (this.key() === key) return;
      }
    }
  }
}

/** The user profiles' part of Always-On: their policy and their gateways. */
export interface UserPolicy {
  policy: AutomaticVpnPolicy;
  /** Gateway URLs of the user profiles' server list. */
  gateways: string[];
}

/** The tunnel holding the network, as Always-On sees it. */
export interface OpenTunnel {
  interfaceName: string;
  split: SplitRouting | null;
}

/** Always-On's inputs as they change, the current decision, and its application. */
export class AlwaysOnState {
  private user: UserPolicy | null;
  private verdict: TndVerdict = 'unknown';
  /** Nothing is applied before TND's first verdict: a block left by a crash stays until then. */
  private evaluated = false;
  private failedOpen = false;
  /** The local resource rules of the last tunnel that was open (ApplyLastVPNLocalResourceRules). */
  private lastLocal: SplitRouting | null = null;
  private decision: AlwaysOnDecision = { block: null, reason: 'not evaluated yet' };
  private readonly applier: BlockApplier | null;

  constructor(firewall: Firewall | undefined, user: UserPolicy | null, onError: (err: unknown) => void) {
    this.user = user;
    this.applier = firewall ? new BlockApplier(firewall, onError) : null;
  }

  /** The user profiles' gateway URLs. */
  get gateways(): readonly string[] {
    return this.user?.gateways ?? [];
  }

  /** The user profiles' policy (null without user profiles). */
  get policy(): AutomaticVpnPolicy | null {
    return this.user?.policy ?? null;
  }

  /** Replaces the user profiles' policy and gateways. */
  setUser(user: UserPolicy | null): void {
    this.user = user;
  }

  /** TND's verdict under the user policy; a new verdict is a new network, so failures are forgotten. */
  setVerdict(verdict: TndVerdict): void {
    if (verdict !== this.verdict) this.failedOpen = false;
    this.verdict = verdict;
    this.evaluated = true;
  }

  /** The host's network changed: a block that lets the local networks through is made again. */
  networkChanged(): void {
    if (usesLocalLan(this.decision.block)) this.applier?.refresh();
  }

  /**
   * Why the user may not end the user tunnel now, or null: AllowVPNDisconnect false while
   * Always-On applies (untrusted network). On a trusted network Always-On asks for no tunnel.
   */
  disconnectRefusal(): string | null {
    const p = this.policy;
    if (!alwaysOnEnabled(p) || p === null || p.alwaysOn.allowVpnDisconnect || this.verdict !== 'untrusted') return null;
    return 'the Always-On profile does not allow disconnecting the VPN (AllowVPNDisconnect is false)';
  }

  /** A tunnel came up: a block lifted by ConnectFailurePolicy Open applies again from now. */
  connected(): void {
    this.failedOpen = false;
  }

  /** A connect failed: with ConnectFailurePolicy Open, the block is lifted. */
  failed(): void {
    if (alwaysOnEnabled(this.policy) && this.policy?.alwaysOn.connectFailurePolicy === 'Open') this.failedOpen = true;
  }

  /**
   * Decides again and hands the block to the firewall when it changed. `tunnel` is the open
   * tunnel holding the network: its interface and, where known, its split policy.
   */
  update(
    serviceEnabled: boolean,
    tunnel: OpenTunnel | null,
    machineUrl: string | null,
    portal: { addresses: string[] } | null = null,
  ): AlwaysOnDecision {
    const gateways = [...new Set([...(this.user?.gateways ?? []), ...(machineUrl ? [machineUrl] : [])])];
    if (tunnel?.split) this.lastLocal = localRules(tunnel.split);
    this.decision = decideBlock({
      serviceEnabled,
      policy: this.policy,
      verdict: this.verdict,
      failedOpen: this.failedOpen,
      gateways,
      tunnel: tunnel?.interfaceName ?? null,
      split: tunnel?.split ?? null,
      lastLocal: this.lastLocal,
      portal,
    });
    // Stopping changes nothing: like a crash, a stopped agent leaves the block standing until an
    // agent is back to decide (no gap across a restart or an upgrade); `tandem recover` lifts it.
    if (this.evaluated && serviceEnabled) void this.applier?.set(this.decision.block);
    return this.decision;
  }

  /** What a newly found captive portal may get under the policy. */
  remediation(): { allowed: boolean; minutes: number } {
    const p = this.policy;
    const on = alwaysOnEnabled(p) && p !== null && p.alwaysOn.allowCaptivePortalRemediation;
    return { allowed: on, minutes: on ? (p?.alwaysOn.captivePortalRemediationTimeout ?? 0) : 0 };
  }

  /** The last decision, for status. */
  get current(): AlwaysOnDecision {
    return this.decision;
  }

  /** Resolves once the firewall has applied the last decision. */
  settled(): Promise<void> {
    return this.applier?.settled() ?? Promise.resolve();
  }
}
