/**
 * The macOS launch daemon: the plist (read back by Python's plistlib, the format launchd reads),
 * install and uninstall through a recording launchctl, and their failure codes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { missing, titled } from '@tandem/testkit';
import {
  EXIT_TIMEOUT_S,
  LAUNCHCTL,
  LAUNCHD_LABEL,
  LAUNCHD_PLIST,
  STDERR_LOG,
  installLaunchDaemon,
  launchdHost,
  launchdPlist,
  uninstallLaunchDaemon,
  type LaunchdDeps,
  type RunResult,
} from '../src/service-darwin.js';

const REQUEST = {
  execPath: '/usr/local/lib/tandem/node',
  script: '/usr/local/lib/tandem/apps/agent/dist/main.js',
  args: ['--admin-group', 'admin'],
};
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A temporary LaunchDaemons directory and a launchctl that records its argv and answers `codes[verb]`. */
async function deps(codes: Record<string, RunResult> = {}, euid = 0) {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-launchd-'));
  dirs.push(dir);
  const runs: string[] = [];
  const d: LaunchdDeps = {
    plistPath: join(dir, `${LAUNCHD_LABEL}.plist`),
    euid,
    run: (file, args) => {
      runs.push([file, ...args].join(' '));
      return Promise.resolve(codes[args[0]!] ?? { code: 0, stderr: '' });
    },
  };
  return { d, runs, dir };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isTandemError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('did not fail');
}

const noPython = missing('python3');
describe(titled('launchd plist, read back by plistlib', noPython), () => {
  it.skipIf(noPython !== null)('has the label, the argv, RunAtLoad, KeepAlive, ExitTimeOut, a fixed PATH', () => {
    const text = launchdPlist(['/opt/t/node', '/opt/t/main.js', '--service', '--resolve', 'vpn&co:10.0.0.1']);
    const parsed = JSON.parse(
      execFileSync(
        'python3',
        ['-c', 'import plistlib, sys, json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'],
        { input: text, timeout: 10_000 },
      ).toString(),
    ) as Record<string, unknown>;
    expect(parsed).toEqual({
      Label: LAUNCHD_LABEL,
      ProgramArguments: ['/opt/t/node', '/opt/t/main.js', '--service', '--resolve', 'vpn&co:10.0.0.1'],
      RunAtLoad: true,
      KeepAlive: true,
      ExitTimeOut: EXIT_TIMEOUT_S,
      EnvironmentVariables: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' },
      StandardErrorPath: STDERR_LOG,
    });
  });
});

describe('launchd daemon', () => {
  it('refuses control characters and empty arguments in ProgramArguments', () => {
    for (const bad of ['a\nb', '', 'x\u0000']) expect(() => launchdPlist(['/n', bad])).toThrow(/cannot put/);
  });

  it('reports nothing to launchd (SIGTERM stops the agent)', async () => {
    const host = launchdHost();
    expect(host.manager).toBe('launchd');
    expect(host.active).toBe(false);
    await expect(host.stopped(0)).resolves.toBeUndefined();
  });

  it('install: writes the plist 0644, boots out an old one, enables, bootstraps — /bin/launchctl, argv only', async () => {
    const { d, runs } = await deps({ bootout: { code: 3, stderr: 'Boot-out failed: 3: No such process' } });
    const line = await installLaunchDaemon(REQUEST, d);
    expect(line).toBe(`installed and started the launch daemon ${LAUNCHD_LABEL} (${d.plistPath})`);
    expect(runs).toEqual([
      `${LAUNCHCTL} bootout system/${LAUNCHD_LABEL}`,
      `${LAUNCHCTL} enable system/${LAUNCHD_LABEL}`,
      `${LAUNCHCTL} bootstrap system ${d.plistPath}`,
    ]);
    expect(await readFile(d.plistPath, 'utf8')).toBe(
      launchdPlist([REQUEST.execPath, REQUEST.script, '--service', ...REQUEST.args]),
    );
    expect((await stat(d.plistPath)).mode & 0o777).toBe(0o644);
    expect(LAUNCHD_PLIST).toBe('/Library/LaunchDaemons/org.tandem.tandemd.plist');
  });

  it('install replaces an existing plist; a loaded old daemon (bootout 0) is fine too', async () => {
    const { d } = await deps();
    await writeFile(d.plistPath, 'old');
    await installLaunchDaemon(REQUEST, d);
    expect(await readFile(d.plistPath, 'utf8')).toContain('<key>RunAtLoad</key>');
  });

  it('install fails typed: not root, relative paths, and each launchctl failure with its exit code and text', async () => {
    const notRoot = await deps({}, 501);
    expect(await failure(installLaunchDaemon(REQUEST, notRoot.d))).toEqual({
      code: ErrorCodes.PERMISSION,
      message: 'installing a launch daemon needs root (sudo)',
    });
    expect(notRoot.runs).toEqual([]);
    const rel = await deps();
    expect((await failure(installLaunchDaemon({ ...REQUEST, script: 'main.js' }, rel.d))).code).toBe(ErrorCodes.USAGE);
    for (const [verb, result] of [
      ['bootout', { code: 1, stderr: 'Boot-out failed: 1: Operation not permitted' }],
      ['enable', { code: 64, stderr: 'Usage: launchctl enable <service-target>' }],
      ['bootstrap', { code: 5, stderr: 'Bootstrap failed: 5: Input/output error' }],
    ] as const) {
      const { d } = await deps({ [verb]: result });
      const f = await failure(installLaunchDaemon(REQUEST, d));
      expect(f.code, verb).toBe(ErrorCodes.INTERNAL);
      expect(f.message, verb).toContain(`${LAUNCHCTL} ${verb}`);
      expect(f.message, verb).toContain(`failed with exit code ${result.code}: ${result.stderr}`);
    }
  });

  it('uninstall: boots out (not loaded is fine) and removes the plist; a missing plist is fine', async () => {
    for (const bootout of [0, 3, 113]) {
      const { d, runs } = await deps({ bootout: { code: bootout, stderr: '' } });
      await writeFile(d.plistPath, 'x');
      expect(await uninstallLaunchDaemon(d)).toBe(`stopped and removed the launch daemon ${LAUNCHD_LABEL}`);
      expect(runs).toEqual([`${LAUNCHCTL} bootout system/${LAUNCHD_LABEL}`]);
      await expect(stat(d.plistPath)).rejects.toThrow(/ENOENT/);
      expect(await uninstallLaunchDaemon(d)).toContain('removed');
    }
    const { d } = await deps({ bootout: { code: 1, stderr: 'Operation not permitted' } });
    expect((await failure(uninstallLaunchDaemon(d))).message).toContain('exit code 1');
    expect((await failure(uninstallLaunchDaemon({ ...d, euid: 501 }))).code).toBe(ErrorCodes.PERMISSION);
  });
});
