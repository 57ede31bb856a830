/**
 * Command-line options of `tandemd`. Every path the agent writes or serves comes from here (or
 * its defaults), never from a client: IPC methods take no paths.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCodes, TandemError, type LogLevel } from '@tandem/common';
import { DEFAULT_PIPE, socketFromEnv } from '@tandem/contract';
import { isAbsoluteOn, LINUX_AGENT_PATHS, type AgentPaths } from './platform-paths.js';
import { LOGIND_SESSIONS_DIR, type WithoutLogind } from './user-tunnel-policy.js';

/** The agent's configuration after parsing argv and the environment. */
export interface AgentOptions {
  /** Stay attached to the terminal/systemd (the only mode; the flag is accepted for the unit file). */
  foreground: boolean;
  socketPath: string;
  profileDir: string;
  /**
   * Cisco Secure Client's profile directory, read after {@link profileDir} so an existing
   * deployment works unchanged; null when disabled (`--no-cisco-profiles`).
   */
  ciscoProfileDir: string | null;
  /** The AnyConnect local policy (docs/profile.md#local-policy); absent means every default. */
  localPolicyFile: string;
  machineStoreDir: string;
  /**
   * Secure Client's machine certificate directory, read with {@link machineStoreDir} under the
   * same root-ownership rule; null when disabled (`--no-cisco-machine-store`).
   */
  ciscoMachineStoreDir: string | null;
  /** Root-only file holding the passphrase of encrypted machine-store keys / PKCS#12 files. */
  machinePassphraseFile: string | null;
  stateDir: string;
  /** Settings that survive restarts and reboots (the machine tunnel switch): root 0700. */
  settingsDir: string;
  /** Members of this group (primary gid of the peer) are admins. */
  adminGroup: string | null;
  /** PEM file of CAs trusted for gateways instead of the system roots (root-owned). */
  gatewayCaFile: string | null;
  /** `--resolve HOST:IP` overrides, for labs without DNS. */
  resolve: Map<string, string>;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  /** Directory of the rotating JSON-lines log files (log-files.ts); null when off (`--no-log-files`). */
  logDir: string | null;
  /** Where logind's sessions are read (the user-tunnel policy); null: logind's own, if it runs. */
  logindSessionsDir: string | null;
  /** Who may start the user tunnel where logind is absent. */
  userTunnelWithoutLogind: WithoutLogind;
  /** `--service`: started by the platform's service manager (Windows: report to the SCM). */
  service: boolean;
  /** `--install-service` / `--uninstall-service`: register or remove the service, then exit. */
  serviceAction: 'install' | 'uninstall' | null;
  help: boolean;
}

/** Default directory of user-tunnel profiles on Linux; `mgmttun/` below it holds the machine tunnel profile. */
export const DEFAULT_PROFILE_DIR = LINUX_AGENT_PATHS.profileDir;
/** Default local policy file on Linux: AnyConnect's file name, in Tandem's configuration directory. */
export const DEFAULT_LOCAL_POLICY = LINUX_AGENT_PATHS.localPolicyFile;
/** Secure Client 5's profile directory on Linux; `mgmttun/` below it holds the machine tunnel profile. */
export const CISCO_PROFILE_DIR = LINUX_AGENT_PATHS.ciscoProfileDir;
/** Default runtime state directory on Linux (socket, network journal). */
export const DEFAULT_STATE_DIR = LINUX_AGENT_PATHS.stateDir;
/**
 * Default settings directory on Linux. Not below the runtime directory: systemd empties
 * `/run/tandem` whenever the unit stops, while `/var/lib/tandem` is the unit's StateDirectory.
 */
export const DEFAULT_SETTINGS_DIR = LINUX_AGENT_PATHS.settingsDir;
/** Default directory of the agent's log files on Linux: the unit's LogsDirectory. */
export const DEFAULT_LOG_DIR = LINUX_AGENT_PATHS.logDir;

/** The usage text with the defaults of `paths` (platform-paths.ts). */
export function agentUsage(paths: Readonly<AgentPaths>): string {
  const socket =
    paths.platform === 'win32'
      ? `named pipe (default ${paths.socket}, or $TANDEM_SOCKET)`
      : `Unix socket (default ${paths.socket}, or $TANDEM_SOCKET;
                     on Windows the pipe ${DEFAULT_PIPE})`;
  const ciscoMachine = paths.ciscoMachineStoreDir ?? 'none on this platform';
  return `usage: tandemd [--foreground] [--socket PATH] [--profile-dir DIR]
               [--cisco-profile-dir DIR | --no-cisco-profiles] [--local-policy FILE]
               [--machine-store DIR] [--cisco-machine-store DIR | --no-cisco-machine-store]
               [--machine-passphrase-file FILE] [--state-dir DIR] [--settings-dir DIR]
               [--admin-group NAME|GID] [--gateway-ca FILE] [--resolve HOST:IP]...
               [--log-level debug|info|warn|error] [--log-format text|json]
               [--log-dir DIR | --no-log-files]
               [--service | --install-service | --uninstall-service]

  --socket PATH      ${socket}
  --profile-dir DIR  VPN profiles (default ${paths.profileDir}; machine tunnel in DIR/mgmttun/)
  --cisco-profile-dir DIR  Secure Client profiles, read after --profile-dir
                     (default ${paths.ciscoProfileDir}; a missing directory is normal)
  --no-cisco-profiles  read --profile-dir only (overrides --cisco-profile-dir)
  --local-policy FILE  AnyConnect local policy (default ${paths.localPolicyFile};
                     a missing file means every default)
  --machine-store DIR  machine certificate store (default ${paths.machineStoreDir})
  --cisco-machine-store DIR  Secure Client's machine certificates (NAME.pem, private/NAME.key),
                     also read, root-owned like the above (default ${ciscoMachine};
                     a missing directory is normal)
  --no-cisco-machine-store  read --machine-store only (overrides --cisco-machine-store)
  --machine-passphrase-file FILE  passphrase for encrypted machine keys (root-owned, mode 0600)
  --state-dir DIR    runtime state (default ${paths.stateDir})
  --settings-dir DIR settings kept across restarts (default ${paths.settingsDir}, mode 0700)
  --admin-group G    peers whose primary group is G are administrators
  --gateway-ca FILE  trust these CAs for gateways instead of the system roots
  --resolve HOST:IP  connect to IP for gateway HOST (repeatable; labs without DNS)
  --user-tunnel-without-logind any|admins  who may start the user tunnel when there is no
                     logind (default any); with logind: the user of the active local session
                     and administrators
  --logind-sessions-dir DIR  where logind's sessions are read (default ${LOGIND_SESSIONS_DIR}
                     when systemd runs the machine)
  --log-level L      debug, info (default), warn or error
  --log-format F     stderr as text (default) or json lines
  --log-dir DIR      rotating JSON-lines log files (default ${paths.logDir}, 0750, root-owned;
                     agent.log + 9 rotated files of 4 MiB)
  --no-log-files     write no log files (stderr/journald only)
  --foreground       stay in the foreground (the only mode; accepted for service managers)
  --service          run under the platform's service manager: on Windows, report to the
                     service control manager (what --install-service registers); elsewhere
                     accepted and ignored (systemd and launchd need nothing more)
  --install-service  register tandemd to start at boot and start it now: a Windows service
                     (LocalSystem, automatic start, restart on failure) or a macOS launch
                     daemon; the other options given are passed to it. On Linux the
                     package's systemd unit does this
  --uninstall-service  stop the service and remove it
  --help, -h         show this text
`;
}

/** Usage text printed by `--help` on Linux (the man page's); other platforms print {@link agentUsage} of theirs. */
export const USAGE = agentUsage(LINUX_AGENT_PATHS);

/**
 * The parseArgs declarations of tandemd's options; {@link USAGE} describes each (the drift test in
 * apps/cli/test holds them together), and the man page and completions are generated from both.
 */
export const OPTIONS = {
  foreground: { type: 'boolean' },
  socket: { type: 'string' },
  'profile-dir': { type: 'string' },
  'cisco-profile-dir': { type: 'string' },
  'no-cisco-profiles': { type: 'boolean' },
  'local-policy': { type: 'string' },
  'machine-store': { type: 'string' },
  'cisco-machine-store': { type: 'string' },
  'no-cisco-machine-store': { type: 'boolean' },
  'machine-passphrase-file': { type: 'string' },
  'state-dir': { type: 'string' },
  'settings-dir': { type: 'string' },
  'admin-group': { type: 'string' },
  'gateway-ca': { type: 'string' },
  resolve: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'log-dir': { type: 'string' },
  'no-log-files': { type: 'boolean' },
  'user-tunnel-without-logind': { type: 'string' },
  'logind-sessions-dir': { type: 'string' },
  service: { type: 'boolean' },
  'install-service': { type: 'boolean' },
  'uninstall-service': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function usage(message: string): TandemError {
  return new TandemError(ErrorCodes.USAGE, message);
}

/**
 * Parses argv (without node and script) and the environment, with the defaults of `paths` (the
 * platform's, from platform-paths.ts; Linux's unless given); throws E_USAGE on bad input.
 */
export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  paths: Readonly<AgentPaths> = LINUX_AGENT_PATHS,
): AgentOptions {
  const absolute = (name: string, value: string): string => {
    if (!isAbsoluteOn(paths.platform, value)) throw usage(`--${name} must be an absolute path: ${value}`);
    return value;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: OPTIONS,
    });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const v = parsed.values;
  const level = v['log-level'] ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) throw usage(`--log-level must be one of ${LEVELS.join(', ')}`);
  const format = v['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw usage('--log-format must be text or json');
  const withoutLogind = v['user-tunnel-without-logind'] ?? 'any';
  if (withoutLogind !== 'any' && withoutLogind !== 'admins')
    throw usage('--user-tunnel-without-logind must be any or admins');
  const group = v['admin-group'];
  if (group !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$|^\d{1,10}$/.test(group))
    throw usage(`--admin-group: not a group name or gid: ${group}`);
  const actions = [v.service, v['install-service'], v['uninstall-service']].filter((x) => x === true).length;
  if (actions > 1) throw usage('--service, --install-service and --uninstall-service exclude each other');
  const resolve = new Map<string, string>();
  for (const item of v.resolve ?? []) {
    const m = /^([A-Za-z0-9.-]{1,253}):([0-9.]{7,15}|\[[0-9A-Fa-f:]+\])$/.exec(item);
    if (!m) throw usage(`--resolve must be HOST:IP: ${item}`);
    resolve.set(m[1]!.toLowerCase(), m[2]!.replace(/^\[|\]$/g, ''));
  }
  return {
    foreground: v.foreground === true,
    socketPath: absolute('socket', v.socket ?? socketFromEnv(env, paths.platform)),
    profileDir: absolute('profile-dir', v['profile-dir'] ?? paths.profileDir),
    ciscoProfileDir:
      v['no-cisco-profiles'] === true
        ? null
        : absolute('cisco-profile-dir', v['cisco-profile-dir'] ?? paths.ciscoProfileDir),
    localPolicyFile: absolute('local-policy', v['local-policy'] ?? paths.localPolicyFile),
    machineStoreDir: absolute('machine-store', v['machine-store'] ?? paths.machineStoreDir),
    ciscoMachineStoreDir:
      v['no-cisco-machine-store'] === true
        ? null
        : v['cisco-machine-store'] !== undefined
          ? absolute('cisco-machine-store', v['cisco-machine-store'])
          : paths.ciscoMachineStoreDir,
    machinePassphraseFile: v['machine-passphrase-file']
      ? absolute('machine-passphrase-file', v['machine-passphrase-file'])
      : null,
    stateDir: absolute('state-dir', v['state-dir'] ?? paths.stateDir),
    settingsDir: absolute('settings-dir', v['settings-dir'] ?? paths.settingsDir),
    adminGroup: group ?? null,
    gatewayCaFile: v['gateway-ca'] ? absolute('gateway-ca', v['gateway-ca']) : null,
    resolve,
    logLevel: level as LogLevel,
    logFormat: format,
    logDir: v['no-log-files'] === true ? null : absolute('log-dir', v['log-dir'] ?? paths.logDir),
    logindSessionsDir: v['logind-sessions-dir'] ? absolute('logind-sessions-dir', v['logind-sessions-dir']) : null,
    userTunnelWithoutLogind: withoutLogind,
    service: v.service === true,
    serviceAction: v['install-service'] === true ? 'install' : v['uninstall-service'] === true ? 'uninstall' : null,
    help: v.help === true,
  };
}
