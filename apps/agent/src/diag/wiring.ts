/**
 * The diagnostics service assembled from the running agent's parts: its state for the agent's
 * own files, the system and network collectors, the log files, and the user's certificate
 * verdicts from the caller's process.
 */
import type { Engine } from '@tandem/engine';
import { readAgentLog } from '../log-files.js';
import type { ScrubReport } from '../environment.js';
import type { AgentOptions } from '../options.js';
import type { AttemptLog } from '../attempts.js';
import type { MachineStore } from '../adapters/machine-credentials.js';
import { userSelection } from '../adapters/remote-signer.js';
import type { TunnelHistory } from '../history.js';
import { toWireRecord, type AgentLogging } from '../logging.js';
import { excludedStoreKinds, type LocalPolicyStore } from '../local-policy.js';
import type { ProfileStore } from '../profiles.js';
import type { SettingsStore } from '../settings.js';
import { AGENT_VERSION } from '../version.js';
import { childEnv } from '../environment.js';
import type { AgentState } from './agent-files.js';
import type { AgentPaths } from '../platform-paths.js';
import { effectiveConfig } from './effective-config.js';
import { agentCollectors } from './index.js';
import { DiagnosticsService } from './service.js';
import type { Collector } from '@tandem/diagnostics';

/** The parts {@link createDiagnostics} reads. */
export interface DiagnosticsParts {
  /** What the agent was started with (a part of `AgentConfig`). */
  config: {
    options: AgentOptions;
    paths?: Readonly<AgentPaths>;
    scrub: ScrubReport;
    gatewayCa?: string;
    resolvConf?: string;
  };
  engine: Engine;
  profiles: ProfileStore;
  localPolicy: LocalPolicyStore;
  settings: SettingsStore;
  machineStore: MachineStore;
  history: TunnelHistory;
  attempts: AttemptLog;
  logging: AgentLogging;
}

const LOG_CAP = 5 * 1024 * 1024;

/** Builds the service behind `diagnostics.collect`, `.read` and `.record`. */
export function createDiagnostics(parts: DiagnosticsParts): DiagnosticsService {
  const { config, engine, profiles, localPolicy, settings, machineStore, history, attempts, logging } = parts;
  const { options } = config;
  const log = logging.log.child('diagnostics');
  const machineSwitch = (): { enabled: boolean; setBy?: { uid: number; at: string } } => {
    const saved = settings.machineTunnel;
    return {
      enabled: engine.snapshot().machineTunnelEnabled,
      ...(saved ? { setBy: { uid: saved.uid, at: saved.at } } : {}),
    };
  };
  const userInit = () => {
    const first = profiles.set.merged.hosts[0];
    return profiles.set.merged.preferencesForHost(first?.hostAddress ?? '').clientInitialization;
  };
  const state: AgentState = {
    snapshot: () => engine.snapshot(),
    machineTunnel: machineSwitch,
    transitions: (uid) => history.transitions(uid),
    lastFailure: (tunnel, uid) => history.lastFailure(tunnel, uid),
    attempt: (tunnel) => attempts.get(tunnel),
    profiles: () => profiles.set,
    async machineVerdicts() {
      const machineProfile = profiles.set.machine;
      const machine = machineProfile ? await machineStore.select(machineProfile.clientInitialization, 'machine') : null;
      const user = await machineStore.select(userInit(), 'user');
      return {
        machine: machine?.record ?? null,
        user: user.record,
        problems: user.problems.map((p) => `${p.origin}: ${p.message}`),
      };
    },
    config: () => ({
      ...effectiveConfig(
        options,
        { socketFromEnvironment: Boolean(process.env['TANDEM_SOCKET']) },
        machineSwitch(),
        profiles.set,
        localPolicy.state,
        config.paths,
      ),
      'agent.removedEnvironment': { value: [...config.scrub.removed], source: 'removed at start (names only)' },
      'agent.childEnvironment': {
        value: Object.keys(childEnv()).sort(),
        source: 'what every command the agent runs receives (names only)',
      },
    }),
  };
  const logs =
    (sinceMs: number): Collector =>
    async () => {
      if (logging.dir) {
        const read = await readAgentLog(logging.dir, { sinceMs, maxBytes: LOG_CAP });
        return read.text;
      }
      // Without log files (--no-log-files), the records still in memory.
      const since = new Date(sinceMs).toISOString();
      const lines = logging.ring
        .records()
        .filter((r) => r.time >= since)
        .map((r) => JSON.stringify(toWireRecord(r)));
      return lines.join('\n');
    };
  return new DiagnosticsService({
    agentVersion: AGENT_VERSION,
    state,
    log,
    logs,
    collectors: ({ sinceMs, full, admin, onSkew }) => {
      const set = profiles.set;
      const hosts = [...set.merged.hosts, ...(admin ? (set.machine?.serverList ?? []) : [])].map((h) => ({
        name: h.hostName,
        address: h.hostAddress,
      }));
      return agentCollectors({
        hosts,
        resolve: options.resolve,
        ca: config.gatewayCa ? [config.gatewayCa] : null,
        sinceMs,
        full,
        admin,
        ...(config.resolvConf ? { resolvConf: config.resolvConf } : {}),
        removedEnvironment: config.scrub.removed,
        onConnectivity: (checks) =>
          onSkew(checks.flatMap((c) => (c.skewSeconds === null ? [] : [{ host: c.name, seconds: c.skewSeconds }]))),
      });
    },
    userVerdicts: async (ctx) =>
      (
        await userSelection(ctx, userInit(), log, 'auth', undefined, {
          excludedKinds: excludedStoreKinds(localPolicy.policy),
        })
      ).record,
    verbosity: {
      set: (level) => logging.setLevel(level ?? options.logLevel),
      level: () => logging.level(),
    },
  });
}
