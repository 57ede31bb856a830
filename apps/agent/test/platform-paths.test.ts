/** The agent's default paths per platform, how they reach the options, and where %ProgramData% comes from. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { agentUsage, parseOptions } from '../src/options.js';
import {
  assertProgramData,
  DARWIN_AGENT_PATHS,
  LINUX_AGENT_PATHS,
  resolveAgentPaths,
  windowsAgentPaths,
} from '../src/platform-paths.js';
import { programDataFolder, type KnownFolderApi } from '../src/shell32-api-windows.js';

const WINDOWS = windowsAgentPaths('C:\\ProgramData');

describe('default paths per platform', () => {
  it('Linux: the FHS and the systemd unit directories, as before', () => {
    expect(LINUX_AGENT_PATHS).toEqual({
      platform: 'linux',
      socket: '/run/tandem/tandemd.sock',
      profileDir: '/etc/tandem/profiles',
      ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
      localPolicyFile: '/etc/tandem/AnyConnectLocalPolicy.xml',
      machineStoreDir: '/etc/tandem/certs/machine',
      ciscoMachineStoreDir: '/opt/.cisco/certificates/client',
      stateDir: '/run/tandem',
      settingsDir: '/var/lib/tandem',
      logDir: '/var/log/tandem',
    });
    expect(parseOptions([], {})).toMatchObject({
      socketPath: '/run/tandem/tandemd.sock',
      profileDir: '/etc/tandem/profiles',
      stateDir: '/run/tandem',
    });
  });

  it('macOS: Application Support, /var/run (the socket beside the journal), Library/Logs; Secure Client where it keeps them', () => {
    expect(DARWIN_AGENT_PATHS).toEqual({
      platform: 'darwin',
      socket: '/var/run/tandem/tandemd.sock',
      profileDir: '/Library/Application Support/Tandem/profiles',
      ciscoProfileDir: '/opt/cisco/secureclient/vpn/profile',
      localPolicyFile: '/Library/Application Support/Tandem/AnyConnectLocalPolicy.xml',
      machineStoreDir: '/Library/Application Support/Tandem/certs/machine',
      ciscoMachineStoreDir: '/opt/.cisco/certificates/client',
      stateDir: '/var/run/tandem',
      settingsDir: '/Library/Application Support/Tandem/settings',
      logDir: '/Library/Logs/Tandem',
    });
    const o = parseOptions([], {}, DARWIN_AGENT_PATHS);
    expect(o).toMatchObject({ socketPath: '/var/run/tandem/tandemd.sock', logDir: '/Library/Logs/Tandem' });
    // The socket path fits macOS's 104-byte sun_path.
    expect(Buffer.byteLength(o.socketPath)).toBeLessThan(104);
    expect(() => parseOptions(['--state-dir', 'C:\\x'], {}, DARWIN_AGENT_PATHS)).toThrow(/absolute path/);
  });

  it('Windows: everything under %ProgramData%\\Tandem, Secure Client under %ProgramData%\\Cisco, the pipe', () => {
    expect(WINDOWS).toEqual({
      platform: 'win32',
      socket: '\\\\.\\pipe\\tandem',
      profileDir: 'C:\\ProgramData\\Tandem\\profiles',
      ciscoProfileDir: 'C:\\ProgramData\\Cisco\\Cisco Secure Client\\VPN\\Profile',
      localPolicyFile: 'C:\\ProgramData\\Tandem\\AnyConnectLocalPolicy.xml',
      machineStoreDir: 'C:\\ProgramData\\Tandem\\certs\\machine',
      ciscoMachineStoreDir: null,
      stateDir: 'C:\\ProgramData\\Tandem\\state',
      settingsDir: 'C:\\ProgramData\\Tandem\\settings',
      logDir: 'C:\\ProgramData\\Tandem\\logs',
    });
    const o = parseOptions([], {}, WINDOWS);
    expect(o).toMatchObject({
      socketPath: '\\\\.\\pipe\\tandem',
      ciscoProfileDir: 'C:\\ProgramData\\Cisco\\Cisco Secure Client\\VPN\\Profile',
      ciscoMachineStoreDir: null,
      settingsDir: 'C:\\ProgramData\\Tandem\\settings',
    });
    // Windows paths are absolute there; a POSIX-relative one is not.
    expect(parseOptions(['--log-dir', 'D:\\logs', '--cisco-machine-store', 'D:\\pem'], {}, WINDOWS)).toMatchObject({
      logDir: 'D:\\logs',
      ciscoMachineStoreDir: 'D:\\pem',
    });
    expect(() => parseOptions(['--log-dir', 'logs'], {}, WINDOWS)).toThrow(/--log-dir must be an absolute path/);
  });

  it('takes %ProgramData% only as a plain local absolute path', () => {
    for (const good of ['C:\\ProgramData', 'D:\\Data\\Program Data', 'C:\\ProgramData\\'])
      expect(() => assertProgramData(good), good).not.toThrow();
    for (const bad of [
      '\\\\server\\share\\ProgramData',
      '\\\\?\\C:\\ProgramData',
      '\\\\.\\pipe\\x',
      'C:',
      'C:\\',
      'ProgramData',
      'C:/ProgramData',
      'C:\\ProgramData\\..\\Users\\alice',
      'C:\\.\\ProgramData',
      'C:\\Program\u0000Data',
      'C:\\ProgramData \\x',
    ])
      expect(() => windowsAgentPaths(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INTERNAL }),
      );
  });

  it('resolves per platform: the Windows module only on win32, a typed error elsewhere', async () => {
    expect(await resolveAgentPaths('linux')).toBe(LINUX_AGENT_PATHS);
    expect(await resolveAgentPaths('darwin')).toBe(DARWIN_AGENT_PATHS);
    expect(await resolveAgentPaths('win32', () => 'E:\\PD')).toMatchObject({ stateDir: 'E:\\PD\\Tandem\\state' });
    // The real known-folder binding is reached, and refuses off Windows.
    await expect(resolveAgentPaths('win32')).rejects.toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: expect.stringMatching(/known-folder API cannot be bound on linux/),
    });
    await expect(resolveAgentPaths('freebsd')).rejects.toMatchObject({ code: ErrorCodes.USAGE });
  });

  it('asks the known-folder API, and names its HRESULT when it fails', () => {
    const calls: string[] = [];
    const api = (answer: ReturnType<KnownFolderApi['programData']>): KnownFolderApi => ({
      programData: () => {
        calls.push('SHGetKnownFolderPath(FOLDERID_ProgramData)');
        return answer;
      },
    });
    expect(programDataFolder(api({ ok: true, value: 'C:\\ProgramData' }))).toBe('C:\\ProgramData');
    // E_FILE_NOT_FOUND as the signed HRESULT the call returns.
    expect(() => programDataFolder(api({ ok: false, hresult: -2147024894 }))).toThrow(
      expect.objectContaining({ code: ErrorCodes.INTERNAL, message: expect.stringMatching(/HRESULT 0x80070002/) }),
    );
    expect(calls).toHaveLength(2);
  });

  it("prints each platform's defaults in --help", () => {
    const win = agentUsage(WINDOWS);
    expect(win).toMatch(/--socket PATH {6}named pipe \(default \\\\\.\\pipe\\tandem, or \$TANDEM_SOCKET\)/);
    expect(win).toContain('(default C:\\ProgramData\\Tandem\\state)');
    expect(win).toContain('(default none on this platform;');
    expect(agentUsage(DARWIN_AGENT_PATHS)).toContain('Unix socket (default /var/run/tandem/tandemd.sock');
  });
});
