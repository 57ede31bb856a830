/**
 * Trusted network detection for the user tunnel (docs/always-on.md#trusted-network-detection-and-the-user-tunnel): what the
 * user profiles' `TrustedNetworkPolicy` and `UntrustedNetworkPolicy` ask for after each verdict.
 * Pure; engine.ts applies the answer to the user's intent.
 *
 * - Trusted: `Disconnect` ends the user tunnel, `Pause` ends it and remembers it, so it comes
 *   back (authenticating again through the user's signer) on the next untrusted network;
 *   `Connect` and `DoNothing` leave it.
 * - Untrusted: a paused tunnel resumes; with `Connect`, a user whose signer (tray) is connected
 *   gets the tunnel to the profiles' first gateway, unless that user disconnected on this network.
 */
import type { AutomaticVpnPolicy } from '@tandem/profile';
import type { TndVerdict } from './tnd.js';

/** A user tunnel the engine should (or did) run. */
export interface UserIntent {
  uid: number;
  url: string;
}

/** What the policy asks for now. */
export type UserTndAction =
  { type: 'disconnect' } | { type: 'pause' } | { type: 'resume' } | { type: 'connect'; intent: UserIntent } | null;

/** What {@link userTndAction} looks at. */
export interface UserTndInputs {
  policy: AutomaticVpnPolicy | null;
  verdict: TndVerdict;
  intent: UserIntent | null;
  paused: UserIntent | null;
  /** The user disconnected by hand since the network last changed. */
  declined: boolean;
  /** Users with a signer connected now, first the most likely (the tray's user). */
  signers: readonly number[];
  /** The profiles' first gateway URL. */
  firstUrl: string | null;
}

/** The action for this verdict, or null. */
export function userTndAction(i: UserTndInputs): UserTndAction {
  const p = i.policy;
  if (p === null || !p.enabled) return null;
  if (i.verdict === 'trusted') {
    if (i.intent === null) return null;
    if (p.trustedNetworkPolicy === 'Disconnect') return { type: 'disconnect' };
    if (p.trustedNetworkPolicy === 'Pause') return { type: 'pause' };
    return null;
  }
  if (i.verdict !== 'untrusted') return null;
  if (i.paused !== null && i.intent === null) return { type: 'resume' };
  const uid = i.signers[0];
  if (i.intent === null && !i.declined && p.untrustedNetworkPolicy === 'Connect' && uid !== undefined && i.firstUrl)
    return { type: 'connect', intent: { uid, url: i.firstUrl } };
  return null;
}

/** The user-TND memory between verdicts: a paused tunnel, a user's own disconnect, the last verdict. */
export class UserTndState {
  private paused: UserIntent | null = null;
  private declined = false;
  private verdict: TndVerdict = 'unknown';

  /** A new verdict; a changed one is a new network, where a user's earlier disconnect no longer counts. */
  setVerdict(verdict: TndVerdict): void {
    if (verdict !== this.verdict) this.declined = false;
    this.verdict = verdict;
  }

  /** The user disconnected by hand: nothing paused, and no automatic connect on this network. */
  userDisconnected(): void {
    this.paused = null;
    this.declined = true;
  }

  /**
   * Applies the policy to the current intent and returns the action taken (null: none) with the
   * intent that results.
   */
  apply(
    policy: AutomaticVpnPolicy | null,
    intent: UserIntent | null,
    signers: readonly number[],
    firstUrl: string | null,
  ): { action: UserTndAction; intent: UserIntent | null } {
    const action = userTndAction({
      policy,
      verdict: this.verdict,
      intent,
      paused: this.paused,
      declined: this.declined,
      signers,
      firstUrl,
    });
    if (action === null) return { action, intent };
    if (action.type === 'disconnect') return { action, intent: null };
    if (action.type === 'pause') {
      this.paused = intent;
      return { action, intent: null };
    }
    if (action.type === 'resume') {
      const resumed = this.paused;
      this.paused = null;
      return { action, intent: resumed };
    }
    return { action, intent: action.intent };
  }
}
