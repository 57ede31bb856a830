/**
 * The agent assembled: state directory → network journal recovery → saved settings → local
 * policy → profiles → machine store → engine with its adapters (and the runner's profile
 * updater) → IPC server → engine start. The saved machine tunnel switch is handed to the
 * engine's constructor, so a tunnel an administrator disabled is never started, not even
 * briefly, after a restart. `stop()` undoes it in reverse: the engine first (it reverts routes
 * and DNS), then the socket. systemd hears READY=1 once the
 * socket listens and the first machine-tunnel decision is made, and STOPPING=1 when stop begins.
 */
import type { Logger } from '@tandem/common';
import { Engine, type UserPolicy } from '@tandem/engine';
import { createIpcServer, type IpcServer } from '@tandem/ipc/server';
import { resolveAdminGid } from './admin-group.js';
import { AgentTunnelDriver, type ConnectionRunner } from './adapters/driver.js';
import { MachineStore, readPassphraseFile } from './adapters/machine-credentials.js';
import { FailClosedFirewall } from './adapters/failclosed-firewall.js';
import { ResolvConfObserver } from './adapters/network-observer.js';
import { HttpPortalProbe } from './adapters/portal-probe.js';
import { TlsLeafProbe } from './adapters/trusted-server-probe.js';
import { SignerRegistry } from './adapters/user-presence.js';
import type { ScrubReport } from './environment.js';
import { createHandlers } from './handlers.js';
import { toWireRecord, type AgentLogging } from './logging.js';
import { AttemptLog } from './attempts.js';
import { AGENT_VERSION } from './version.js';
import { createDiagnostics } from './diag/wiring.js';
import { TunnelHistory } from './history.js';
import { excludedStoreKinds, LocalPolicyStore } from './local-policy.js';
import type { AgentOptions } from './options.js';
import type { AgentPaths } from './platform-paths.js';
import { ProfileUpdater } from './profile-updates.js';
import { ProfileStore, type ProfileSet } from './profiles.js';
import { recoverNetwork } from './recovery.js';
import { nullNotifier, type ServiceNotifier } from './sd-notify.js';
import { ServiceReadiness } from './service-readiness.js';
import { SettingsStore } from './settings.js';
import { guardSocketPath } from './socket-guard.js';
import { wireStatus } from './snapshot-map.js';
import { prepareStateDir } from './state-dir.js';
import { openUserTunnelGate } from './console-user.js';

/** What {@link Agent.start} needs. */
export interface AgentConfig {
  options: AgentOptions;
  /** The platform's default paths the options were parsed with (Linux's when absent). */
  paths?: Readonly<AgentPaths>;
  logging: AgentLogging;
  scrub: ScrubReport;
  /** The protocol/data-plane runner (RealConnectionRunner in tandemd); null makes every bring-up fail. */
  runner: ConnectionRunner | null;
  /** resolv.conf to observe (tests point it elsewhere). */
  resolvConf?: string;
  /** The last attempt per tunnel; shared with the runner, which records the gateway chains. */
  attempts?: AttemptLog;
  /** `--resolve` overrides and the gateway CA, for the bundle's reachability check. */
  gatewayCa?: string;
  /** systemd's notification channel (READY=1, STATUS=, STOPPING=1); none outside a Type=notify unit. */
  notifier?: ServiceNotifier;
}

/** How long `stop()` waits for the engine to revert routes/DNS (below systemd's 20 s TimeoutStopSec). */
const ENGINE_STOP_MS = 15_000;

/** A running agent. */
export class Agent {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly log: Logger,
    readonly engine: Engine,
    readonly server: IpcServer,
    readonly profiles: ProfileStore,
    readonly localPolicy: LocalPolicyStore,
    private readonly network: ResolvConfObserver,
    private readonly unsubscribe: Array<() => void>,
    private readonly readiness: ServiceReadiness,
  ) {}

  /** Starts every part in order; a failure before the socket is bound leaves nothing running. */
  static async start(config: AgentConfig): Promise<Agent> {
    const { options, logging } = config;
    const log = logging.log;
    const paths = await prepareStateDir(options.stateDir);
    await recoverNetwork(paths.journalDir, log.child('recover'));
    const settings = SettingsStore.open(options.settingsDir, log.child('settings'));
    const saved = settings.machineTunnel;
    if (saved)
      log.info(`machine tunnel ${saved.enabled ? 'enabled' : 'disabled'} by an administrator`, {
        uid: saved.uid,
        at: saved.at,
      });
    const localPolicy = new LocalPolicyStore(options.localPolicyFile, log.child('local-policy'));
    await localPolicy.load();
    const profileDirs = [
      ...new Set([options.profileDir, ...(options.ciscoProfileDir ? [options.ciscoProfileDir] : [])]),
    ];
    const profiles = new ProfileStore(profileDirs, log.child('profiles'));
    await profiles.load();
    const passphrase = options.machinePassphraseFile ? await readPassphraseFile(options.machinePassphraseFile) : null;
    const attempts = config.attempts ?? new AttemptLog();
    const machineStore = new MachineStore(
      options.machineStoreDir,
      passphrase,
      log.child('machine-store'),
      attempts,
      () => excludedStoreKinds(localPolicy.policy),
      options.ciscoMachineStoreDir,
    );
    const adminGid = options.adminGroup ? await resolveAdminGid(options.adminGroup) : undefined;
    const userTunnelRefusal = await openUserTunnelGate(options);

    const signers = new SignerRegistry();
    const network = new ResolvConfObserver({
      journalDir: paths.journalDir,
      log: log.child('network'),
      ...(config.resolvConf ? { resolvConf: config.resolvConf } : {}),
    });
    const driver = new AgentTunnelDriver({
      profiles,
      machineStore,
      signers,
      runner: config.runner,
      log: log.child('driver'),
      attempts,
      localPolicy,
    });
    config.runner?.useProfileUpdates?.(
      new ProfileUpdater({
        profileDir: options.profileDir,
        profileDirs,
        policy: () => localPolicy.policy,
        log: log.child('profile-updates'),
      }),
    );
    if (config.runner === null)
      log.warn('no connection runner installed: tunnels cannot come up (no data plane available)');
    const engine = new Engine({
      driver,
      network,
      users: signers,
      probe: new TlsLeafProbe(),
      log: log.child('engine'),
      machineProfile: profiles.set.machine,
      userPolicy: userPolicyOf(profiles.set),
      firewall: new FailClosedFirewall({
        journalDir: paths.journalDir,
        resolve: options.resolve,
        log: log.child('always-on'),
      }),
      portal: new HttpPortalProbe({
        gateways: () => gatewayUrls(profiles.set),
        resolve: options.resolve,
        log: log.child('portal'),
      }),
      ...(saved ? { machineTunnelEnabled: saved.enabled } : {}),
    });

    const history = new TunnelHistory(log.child('tunnels'));
    history.observe(engine.snapshot());
    const diagnostics = createDiagnostics({
      config,
      engine,
      profiles,
      localPolicy,
      settings,
      machineStore,
      history,
      attempts,
      logging,
    });
    const handlers = createHandlers({
      engine,
      profiles,
      settings,
      signers,
      ring: logging.ring,
      userTunnelRefusal,
      diagnostics,
    });
    await guardSocketPath(options.socketPath);
    const ipc = createIpcServer({
      socketPath: options.socketPath,
      handlers,
      agentVersion: AGENT_VERSION,
      logger: log,
      policy: adminGid !== undefined ? { adminGid } : {},
    });
    await ipc.listen();

    const unsubscribe = [
      () => diagnostics.close(),
      engine.onSnapshot((snap) => {
        history.observe(snap);
        ipc.broadcast('state', wireStatus(snap));
      }),
      forwardLogs(logging, ipc),
    ];
    // Taken before start: readiness compares TND against it to know the first decision was made.
    const readiness = new ServiceReadiness(
      config.notifier ?? nullNotifier,
      options.socketPath,
      engine,
      engine.snapshot(),
    );
    const agent = new Agent(log, engine, ipc, profiles, localPolicy, network, unsubscribe, readiness);
    await engine.start();
    log.info('agent started', { version: AGENT_VERSION, pid: process.pid, socket: options.socketPath });
    // The socket listens and the engine has decided about the machine tunnel: READY=1 (service-readiness.ts).
    readiness.start();
    return agent;
  }

  /** Re-reads the local policy and the profiles (SIGHUP) and hands a changed management profile to the engine. */
  async reloadProfiles(): Promise<void> {
    await this.localPolicy.load();
    const before = this.profiles.set.machine;
    const set = await this.profiles.load();
    if (set.machine !== before) await this.engine.setMachineProfile(set.machine);
    await this.engine.setUserPolicy(userPolicyOf(set));
  }

  /** Brings tunnels down (routes/DNS reverted), then closes the socket. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping: tearing tunnels down');
      this.readiness.stop();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ENGINE_STOP_MS);
      });
      const result = await Promise.race([this.engine.stop().then(() => 'stopped' as const), timeout]);
      clearTimeout(timer);
      if (result === 'timeout')
        this.log.error('engine did not stop in time; the network journal will restore the rest at next start');
      for (const u of this.unsubscribe) u();
      this.network.close();
      await this.server.close();
      this.log.info('agent stopped');
    })();
    return this.stopping;
  }
}

/** The user profiles' gateway URLs, backups included. */
function userGateways(set: ProfileSet): string[] {
  return set.merged.hosts.flatMap((h) => [
    h.url,
    ...h.backupServers.map((b) => (b.includes('://') ? b : `https://${b}`)),
  ]);
}

/** Every gateway of the profiles, the management tunnel's first (the captive-portal probe's target). */
function gatewayUrls(set: ProfileSet): string[] {
  return [...(set.machine?.serverList[0]?.url ? [set.machine.serverList[0].url] : []), ...userGateways(set)];
}

/** The user profiles' AutomaticVPNPolicy and gateways, as the engine's Always-On needs them. */
function userPolicyOf(set: ProfileSet): UserPolicy | null {
  if (set.merged.hosts.length === 0) return null;
  return {
    policy: set.merged.defaultPreferences().clientInitialization.automaticVpnPolicy,
    gateways: userGateways(set),
  };
}

/** Sends each log record to admin watchers as a `log` event; re-entrant records are dropped. */
function forwardLogs(logging: AgentLogging, ipc: IpcServer): () => void {
  let busy = false;
  return logging.onRecord((record) => {
    // Broadcasting can itself log (a slow client dropped); forwarding that would recurse.
    if (busy) return;
    busy = true;
    try {
      ipc.broadcast('log', toWireRecord(record));
    } catch {
      // A record outside the contract is simply not forwarded; it is still in the ring and stderr.
    } finally {
      busy = false;
    }
  });
}
