/**
 * tandemd as a macOS launch daemon. launchd has no readiness or status protocol and stops a
 * daemon with SIGTERM (then SIGKILL after ExitTimeOut), which main.ts handles as under systemd,
 * so the host reports nothing. `tandemd --install-service` writes
 * /Library/LaunchDaemons/org.tandem.tandemd.plist (root, 0644, atomically) and loads it with
 * `launchctl bootstrap system`; RunAtLoad starts it now and at every boot (the machine tunnel
 * comes up before anyone logs in), KeepAlive restarts it whenever it exits.
 * `launchctl` runs by absolute path with an argument array, a timeout and a bounded output.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { nullNotifier } from './sd-notify.js';
import { signalOnlyHost, type InstallRequest, type ServiceHost } from './service-host.js';

export const LAUNCHD_LABEL = 'org.tandem.tandemd';
export const LAUNCHD_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
export const LAUNCHCTL = '/bin/launchctl';
/** Seconds launchd waits after SIGTERM before SIGKILL: the agent reverts routes and DNS meanwhile. */
export const EXIT_TIMEOUT_S = 30;
/** Where launchd sends the agent's stderr (its own log files are under /var/log/tandem). */
export const STDERR_LOG = '/var/log/tandemd.log';
/** `launchctl bootout` exit codes that mean "was not loaded". */
const NOT_LOADED = new Set([3, 113]);

/** The launchd host: nothing to report, launchd signals. */
export function launchdHost(): ServiceHost {
  return signalOnlyHost('launchd', nullNotifier);
}

const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The daemon's property list for `programArguments` (the runtime, the script, then options). */
export function launchdPlist(programArguments: readonly string[]): string {
  for (const arg of programArguments) {
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (arg.length === 0 || /[\u0000-\u001f\u007f]/.test(arg))
      throw new TandemError(ErrorCodes.USAGE, `cannot put ${JSON.stringify(arg)} in the launchd plist`);
  }
  const args = programArguments.map((a) => `    <string>${xml(a)}</string>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ExitTimeOut</key>
  <integer>${EXIT_TIMEOUT_S}</integer>
  <key>EnvironmentVariables</key>
  <dict>
    <key>PATH</key>
    <string>/usr/bin:/bin:/usr/sbin:/sbin</string>
  </dict>
  <key>StandardErrorPath</key>
  <string>${STDERR_LOG}</string>
</dict>
</plist>
`;
}

/** What running a program answered. */
export interface RunResult {
  code: number;
  stderr: string;
}
/** Runs `file` (absolute) with `args`; never throws for a non-zero exit. */
export type Runner = (file: string, args: readonly string[]) => Promise<RunResult>;

/** The real {@link Runner}: execFile, no shell, a fixed PATH, 30 s, 64 KiB of output. */
export const execRunner: Runner = (file, args) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: 30_000, maxBuffer: 64 * 1024, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stderr: String(stderr).trim().slice(0, 1000) });
      },
    );
  });

/** What install and uninstall use; tests replace them. */
export interface LaunchdDeps {
  run: Runner;
  plistPath: string;
  /** Effective uid (root is needed to write LaunchDaemons and talk to the system domain). */
  euid: number;
}

const defaults = (): LaunchdDeps => ({ run: execRunner, plistPath: LAUNCHD_PLIST, euid: process.geteuid?.() ?? -1 });

function launchctlFailure(args: readonly string[], r: RunResult): TandemError {
  return new TandemError(
    ErrorCodes.INTERNAL,
    `${LAUNCHCTL} ${args.join(' ')} failed with exit code ${r.code}${r.stderr ? `: ${r.stderr}` : ''}`,
    { details: { command: LAUNCHCTL, args: [...args], exitCode: r.code } },
  );
}

async function launchctl(deps: LaunchdDeps, args: readonly string[], tolerate = new Set<number>()): Promise<void> {
  const r = await deps.run(LAUNCHCTL, args);
  if (r.code !== 0 && !tolerate.has(r.code)) throw launchctlFailure(args, r);
}

function needRoot(deps: LaunchdDeps): void {
  if (deps.euid !== 0) throw new TandemError(ErrorCodes.PERMISSION, 'installing a launch daemon needs root (sudo)');
}

/** Writes `text` to `path` through a temporary file beside it: 0644, never through a link. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${LAUNCHD_LABEL}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.chmod(0o644);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path).catch(async (err: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw err;
  });
}

/** `tandemd --install-service` on macOS; resolves with a line for the administrator. */
export async function installLaunchDaemon(request: InstallRequest, deps: LaunchdDeps = defaults()): Promise<string> {
  needRoot(deps);
  for (const path of [request.execPath, request.script])
    if (!isAbsolute(path)) throw new TandemError(ErrorCodes.USAGE, `the path must be absolute: ${path}`);
  const plist = launchdPlist([request.execPath, request.script, '--service', ...request.args]);
  await writeAtomically(deps.plistPath, plist);
  const target = `system/${LAUNCHD_LABEL}`;
  // A loaded older definition would make bootstrap fail: take it out first.
  await launchctl(deps, ['bootout', target], NOT_LOADED);
  // A service disabled earlier (`launchctl disable`) would not bootstrap.
  await launchctl(deps, ['enable', target]);
  await launchctl(deps, ['bootstrap', 'system', deps.plistPath]);
  return `installed and started the launch daemon ${LAUNCHD_LABEL} (${deps.plistPath})`;
}

/** `tandemd --uninstall-service` on macOS: unloads (stopping the agent) and removes the plist. */
export async function uninstallLaunchDaemon(deps: LaunchdDeps = defaults()): Promise<string> {
  needRoot(deps);
  await launchctl(deps, ['bootout', `system/${LAUNCHD_LABEL}`], NOT_LOADED);
  await unlink(deps.plistPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return `stopped and removed the launch daemon ${LAUNCHD_LABEL}`;
}
