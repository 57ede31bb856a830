/**
 * The engine's TunnelDriver for the agent. It gathers what a connection needs — the profile in
 * force for the host, the machine certificate (machine store, strict trust, no prompts), the
 * user's remote signer and prompt channel — and hands the protocol work to a
 * {@link ConnectionRunner} (tandemd's is connection-runner.ts over `@tandem/connection`). Without a runner the agent still runs, and every bring-up fails
 * with E_GATEWAY_UNREACHABLE "no data plane available": never a pretend success.
 */
import { ErrorCodes, isTandemError, redactor, TandemError, type Logger } from '@tandem/common';
import type { SigningIdentitySource, TlsCredentials } from '@tandem/certs';
import type { AuthContext, DataPlane, OpenContext, SessionCredentials, TunnelDriver, TunnelKind } from '@tandem/engine';
import type { ReverseParams, ReverseResult } from '@tandem/contract';
import {
  thumbprintCachingRestricted,
  type ClientInitialization,
  type HostEntry,
  type LocalPolicy,
} from '@tandem/profile';
import type { AttemptLog } from '../attempts.js';
import { excludedStoreKinds } from '../local-policy.js';
import type { ProfileStore } from '../profiles.js';
import type { ProfileUpdater } from '../profile-updates.js';
import type { MachineStore } from './machine-credentials.js';
import { remoteIdentityFor } from './remote-signer.js';
import type { SignerRegistry } from './user-presence.js';

/** Asks the tunnel's user a question (server trust, banner, group); absent for the machine tunnel. */
export type UserPrompt = (question: ReverseParams<'prompt'>) => Promise<ReverseResult<'prompt'>>;

/** Everything a runner needs to authenticate one tunnel. */
export interface RunnerAuthRequest {
  kind: TunnelKind;
  url: string;
  reason: 'initial' | 'reauth';
  signal: AbortSignal;
  /** Preferences of the profile owning the host (the management profile for the machine tunnel). */
  profile: ClientInitialization;
  /** The host entry (user group, pins), or null for a manually entered URL. */
  host: HostEntry | null;
  /**
   * The user profile file that owns the host, or null (a host no user profile names): the file
   * a gateway's user profile update replaces when it is in Tandem's own directory.
   */
  profileFile: string | null;
  /** Hosts a gateway redirect may lead to: the profiles' server list. */
  allowedHosts: string[];
  /** Strict server certificate verification: no trust prompt, no remembered-thumbprint bypass. */
  strictServerTrust: boolean;
  /** Client certificate for the TLS handshake (MCA certificate 1), from the machine store. */
  machineCredentials: TlsCredentials | null;
  /**
   * MCA certificate 2: the user's certificate, signing in the user's process — asked for only
   * when the gateway sends the MCA challenge.
   */
  user: SigningIdentitySource | null;
  /** Null for the machine tunnel: any form or prompt is a failure (docs/profile.md#management-tunnel). */
  prompt: UserPrompt | null;
}

/** What opening a data plane needs. */
export interface RunnerOpenRequest {
  kind: TunnelKind;
  session: SessionCredentials;
  signal: AbortSignal;
  profile: ClientInitialization;
}

/**
 * The protocol and the data plane behind the driver (connection-runner.ts in tandemd). Must keep the engine's
 * port contracts (packages/engine/README.md): settle when aborted, revert before rejecting,
 * reject with TandemError codes — and register every secret it obtains (the session cookie,
 * DTLS secrets) with the common redactor (`redactor.addSecret`) the moment it has it, before
 * any log line, because the agent only learns the cookie when `authenticate` returns.
 */
export interface ConnectionRunner {
  authenticate(request: RunnerAuthRequest): Promise<SessionCredentials>;
  open(request: RunnerOpenRequest): Promise<DataPlane>;
  /**
   * Where the profiles a gateway offers go once a tunnel it authenticated is up
   * (profile-updates.ts); a runner without it ignores them.
   */
  useProfileUpdates?(updates: ProfileUpdater): void;
}

/** Collaborators of {@link AgentTunnelDriver}. */
export interface DriverDeps {
  profiles: ProfileStore;
  machineStore: MachineStore;
  signers: SignerRegistry;
  /** Null until a real data plane is wired in. */
  runner: ConnectionRunner | null;
  log: Logger;
  /** The last attempt per tunnel (certificates considered, gateway chain), for the bundle. */
  attempts?: AttemptLog;
  /** The local policy in force (read at every attempt: a SIGHUP may change it); absent: every default. */
  localPolicy?: { readonly policy: LocalPolicy };
}

/** The reason every bring-up fails while no runner is installed. */
export const NO_DATA_PLANE = 'no data plane available: this tandemd has no connection runner';

/** TunnelDriver built on a {@link ConnectionRunner}. */
export class AgentTunnelDriver implements TunnelDriver {
  constructor(private readonly deps: DriverDeps) {}

  /** See {@link TunnelDriver.authenticate}. */
  async authenticate(kind: TunnelKind, ctx: AuthContext): Promise<SessionCredentials> {
    const runner = this.requireRunner();
    // A re-authentication belongs to the attempt that opened the tunnel.
    if (ctx.reason === 'initial') this.deps.attempts?.begin(kind, ctx.uid);
    const request = kind === 'machine' ? await this.machineRequest(ctx) : await this.userRequest(ctx);
    const session = await runner.authenticate(request);
    // The runner registers the cookie too; doing it here as well costs nothing and means no
    // runner can forget it before the first log line that might mention it.
    redactor.addSecret(session.cookie);
    return session;
  }

  /** See {@link TunnelDriver.open}. */
  async open(kind: TunnelKind, session: SessionCredentials, ctx: OpenContext): Promise<DataPlane> {
    const runner = this.requireRunner();
    const profile =
      kind === 'machine'
        ? this.machineProfile().clientInitialization
        : this.deps.profiles.set.merged.preferencesForHost(session.gateway).clientInitialization;
    return runner.open({ kind, session, signal: ctx.signal, profile });
  }

  private requireRunner(): ConnectionRunner {
    if (this.deps.runner === null)
      throw new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, NO_DATA_PLANE, { details: { stage: 'agent' } });
    return this.deps.runner;
  }

  private machineProfile() {
    const machine = this.deps.profiles.set.machine;
    if (!machine) throw new TandemError(ErrorCodes.AUTH_UNSUPPORTED, 'no management tunnel profile is installed');
    return machine;
  }

  /** The user profile naming the gateway of `url` (same host and port, any group), or null. */
  private userProfileFor(url: string): string | null {
    const host = (u: string): string | null => URL.parse(u)?.host.toLowerCase() ?? null;
    const wanted = host(url);
    return this.deps.profiles.set.merged.hosts.find((h) => host(h.url) === wanted)?.profileFile ?? null;
  }

  private allowedHosts(): string[] {
    return this.deps.profiles.set.merged.hosts.map((h) => h.hostAddress);
  }

  private async machineRequest(ctx: AuthContext): Promise<RunnerAuthRequest> {
    const machine = this.machineProfile();
    const init = machine.clientInitialization;
    const machineCredentials = await this.deps.machineStore.credentials(init, 'machine');
    return {
      kind: 'machine',
      url: ctx.url,
      reason: ctx.reason,
      signal: ctx.signal,
      profile: init,
      host: machine.serverList[0] ?? null,
      profileFile: this.userProfileFor(ctx.url),
      allowedHosts: machine.serverList.map((h) => h.hostAddress),
      strictServerTrust: true,
      machineCredentials,
      user: null,
      prompt: null,
    };
  }

  private async userRequest(ctx: AuthContext): Promise<RunnerAuthRequest> {
    if (ctx.uid === undefined) throw new TandemError(ErrorCodes.INTERNAL, 'user tunnel without an owner uid');
    const signerCtx = this.deps.signers.signerFor(ctx.uid);
    if (!signerCtx)
      throw new TandemError(
        ErrorCodes.CERT_NOT_FOUND,
        `no certificate signer of uid ${ctx.uid} is connected (keep tandem connect or the tray running)`,
      );
    const prefs = this.deps.profiles.set.merged.preferencesForHost(ctx.url);
    const init = prefs.clientInitialization;
    // Not every gateway wants a user certificate (forms, the machine certificate alone): the
    // user's process is asked to list and choose only when the gateway's MCA challenge comes,
    // so a plain certificate login never waits for it.
    const local = this.deps.localPolicy?.policy;
    let identity: ReturnType<typeof remoteIdentityFor> | null = null;
    const user = (): ReturnType<typeof remoteIdentityFor> =>
      (identity ??= remoteIdentityFor(signerCtx, init, this.deps.log, undefined, this.deps.attempts, {
        excludedKinds: local ? excludedStoreKinds(local) : [],
        noRemember: local ? thumbprintCachingRestricted(local) : false,
      }));
    let machineCredentials: TlsCredentials | null = null;
    if (prefs.host === null) {
      // The machine's identity is presented only to gateways an administrator named in the
      // profiles: a URL a local user typed gets no machine certificate (docs/attack-surface.md).
      this.deps.log.info('no machine certificate for a gateway outside the profiles', { uid: ctx.uid, url: ctx.url });
    } else {
      try {
        // The certs selection applies the profile's store rule for user tunnels
        // (CertificateStoreLinux All/Machine): otherwise the machine store is not used at all.
        machineCredentials = await this.deps.machineStore.credentials(init, 'user');
      } catch (err) {
        // MCA's first certificate is optional: without one the user certificate alone is sent.
        if (!isTandemError(err)) throw err;
        this.deps.log.info('no machine certificate for the user tunnel', { reason: err.message });
      }
    }
    const policy = init.automaticVpnPolicy;
    // The local policy's StrictCertificateTrust is the machine's: no profile can turn it off.
    const strict =
      local?.strictCertificateTrust === true ||
      init.strictCertificateTrust?.value === true ||
      (policy.enabled && policy.alwaysOn.enabled);
    return {
      kind: 'user',
      url: ctx.url,
      reason: ctx.reason,
      signal: ctx.signal,
      profile: init,
      host: prefs.host,
      profileFile: prefs.profileFile,
      allowedHosts: this.allowedHosts(),
      strictServerTrust: strict,
      machineCredentials,
      user,
      prompt: (question) => signerCtx.reverse('prompt', question),
    };
  }
}
