/**
 * Where the agent keeps what it reads and writes, per platform: the defaults of every path option
 * (options.ts). One table per platform, chosen once at start by {@link resolveAgentPaths}:
 *
 * - **Linux**: the FHS and the systemd unit's directories (`/etc/tandem`, `/run/tandem`,
 *   `/var/lib/tandem`, `/var/log/tandem`); Secure Client's profiles in
 *   `/opt/cisco/secureclient/vpn/profile`.
 * - **macOS**: `/Library/Application Support/Tandem` (configuration and settings), `/var/run/tandem`
 *   (socket and journal; macOS has no `/run`, and `/var/run` is emptied at boot the same way),
 *   `/Library/Logs/Tandem`; Secure Client 5 keeps its profiles where it does on Linux.
 * - **Windows**: everything under `%ProgramData%\Tandem`; Secure Client's profiles in
 *   `%ProgramData%\Cisco\Cisco Secure Client\VPN\Profile` (`MgmtTun\` below it: NTFS ignores case,
 *   so the loader's `mgmttun/` finds it). `%ProgramData%` comes from the known-folder API
 *   (FOLDERID_ProgramData, set by the system, changed only by administrators), never from the
 *   environment: an administrator who runs tandemd in a console brings whatever environment that
 *   console had, and a path taken from it would point the agent's writes anywhere. The network
 *   journal there survives a reboot, unlike `/run`'s; on Windows that is what recovery needs,
 *   since NRPT rules live in the registry and survive it too.
 *
 * The network journal is always `<stateDir>/netjournal`.
 */
import { posix, win32 } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { CISCO_MACHINE_STORE, LINUX_MACHINE_STORE } from '@tandem/certs';
import { DARWIN_SOCKET, DEFAULT_PIPE, DEFAULT_SOCKET } from '@tandem/contract';

/** The platforms with a table. */
export type AgentPlatform = 'linux' | 'darwin' | 'win32';

/** Default paths of one platform. */
export interface AgentPaths {
  platform: AgentPlatform;
  /** Unix socket, or the named pipe on Windows. */
  socket: string;
  /** Tandem's profiles; `mgmttun/` below it holds the machine tunnel profile. */
  profileDir: string;
  /** Secure Client's profile directory, read after {@link profileDir}. */
  ciscoProfileDir: string;
  /** The AnyConnect local policy file. */
  localPolicyFile: string;
  /** Tandem's machine certificate directory. */
  machineStoreDir: string;
  /** Secure Client's machine certificate directory; null where Secure Client keeps none (Windows: the OS store). */
  ciscoMachineStoreDir: string | null;
  /** Runtime state: the socket's directory (Unix) and the network journal. */
  stateDir: string;
  /** Settings kept across restarts (the machine tunnel switch). */
  settingsDir: string;
  /** The rotating JSON-lines log files. */
  logDir: string;
}

/** Linux: the FHS and the systemd unit's directories. */
export const LINUX_AGENT_PATHS: Readonly<AgentPaths> = Object.freeze({
  platform: 'linux',
  socket: DEFAULT_SOCKET,
  profileDir: '/etc/tandem/profiles',
  ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
  localPolicyFile: '/etc/tandem/AnyConnectLocalPolicy.xml',
  machineStoreDir: LINUX_MACHINE_STORE,
  ciscoMachineStoreDir: CISCO_MACHINE_STORE,
  stateDir: '/run/tandem',
  settingsDir: '/var/lib/tandem',
  logDir: '/var/log/tandem',
});

/** `/Library/Application Support/Tandem`: what an administrator installs, and what the agent keeps. */
export const DARWIN_SUPPORT_DIR = '/Library/Application Support/Tandem';

/** macOS: Application Support, `/var/run`, Library/Logs; Secure Client's directories as on Linux. */
export const DARWIN_AGENT_PATHS: Readonly<AgentPaths> = Object.freeze({
  platform: 'darwin',
  socket: DARWIN_SOCKET,
  profileDir: `${DARWIN_SUPPORT_DIR}/profiles`,
  ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
  localPolicyFile: `${DARWIN_SUPPORT_DIR}/AnyConnectLocalPolicy.xml`,
  machineStoreDir: `${DARWIN_SUPPORT_DIR}/certs/machine`,
  // [unverified] assumed where Linux's Secure Client keeps its PEM file store; not checked on a Mac.
  ciscoMachineStoreDir: CISCO_MACHINE_STORE,
  stateDir: posix.dirname(DARWIN_SOCKET),
  settingsDir: `${DARWIN_SUPPORT_DIR}/settings`,
  logDir: '/Library/Logs/Tandem',
});

/** A drive-letter path of plain components: no UNC share, no device path, no `.` or `..`, no control characters. */
const LOCAL_ABSOLUTE = /^[A-Za-z]:(?:\\[^\\/:*?"<>|]+)+\\?$/;

/** Throws (typed) unless `dir` is a plain local absolute path, as `%ProgramData%` must be. */
export function assertProgramData(dir: string): void {
  const parts = dir.split('\\').slice(1);
  const control = [...dir].some((c) => c.charCodeAt(0) < 0x20);
  if (control || !LOCAL_ABSOLUTE.test(dir) || parts.some((p) => p === '.' || p === '..' || p.trim() !== p))
    throw new TandemError(
      ErrorCodes.INTERNAL,
      `the ProgramData folder is not a local absolute path: ${JSON.stringify(dir)}`,
    );
}

/** Windows: everything under `<programData>\Tandem`, Secure Client's profiles under `<programData>\Cisco`. */
export function windowsAgentPaths(programData: string): AgentPaths {
  assertProgramData(programData);
  const base = win32.join(programData, 'Tandem');
  return {
    platform: 'win32',
    socket: DEFAULT_PIPE,
    profileDir: win32.join(base, 'profiles'),
    ciscoProfileDir: win32.join(programData, 'Cisco', 'Cisco Secure Client', 'VPN', 'Profile'),
    localPolicyFile: win32.join(base, 'AnyConnectLocalPolicy.xml'),
    machineStoreDir: win32.join(base, 'certs', 'machine'),
    ciscoMachineStoreDir: null,
    stateDir: win32.join(base, 'state'),
    settingsDir: win32.join(base, 'settings'),
    logDir: win32.join(base, 'logs'),
  };
}

/** True for a path absolute on `platform` (a drive or a pipe name on Windows, `/…` elsewhere). */
export function isAbsoluteOn(platform: AgentPlatform, path: string): boolean {
  return platform === 'win32' ? win32.isAbsolute(path) : posix.isAbsolute(path);
}

/**
 * The table of `platform` (default: this process's). Windows asks the known-folder API for
 * `%ProgramData%`, reached only through a dynamic `import()`; `programData` replaces that call in
 * tests. Any other platform is a typed error.
 */
export async function resolveAgentPaths(
  platform: string = process.platform,
  programData?: () => string,
): Promise<Readonly<AgentPaths>> {
  switch (platform) {
    case 'linux':
      return LINUX_AGENT_PATHS;
    case 'darwin':
      return DARWIN_AGENT_PATHS;
    case 'win32': {
      if (programData) return windowsAgentPaths(programData());
      const { loadKnownFolderApi, programDataFolder } = await import('./shell32-api-windows.js');
      return windowsAgentPaths(programDataFolder(loadKnownFolderApi()));
    }
    default:
      throw new TandemError(ErrorCodes.USAGE, `tandemd has no default paths on platform ${platform}`, {
        details: { platform },
      });
  }
}
