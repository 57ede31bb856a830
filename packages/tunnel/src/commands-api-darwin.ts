/**
 * The macOS commands the routes-and-DNS backend runs — `/sbin/route`, `/sbin/ifconfig` and
 * `/usr/sbin/scutil` — as an interface the backend receives, and {@link loadDarwinCommands},
 * which runs them: by absolute path, with an argument array (no shell), a fixed environment, a
 * timeout and a output cap. What scutil reads on stdin is built by the backend from validated
 * values only. A non-zero exit is returned, not thrown: its meaning is the backend's call.
 */
import { execFile } from 'node:child_process';

/** One command's outcome; `code` is -1 when it did not run or was killed (the reason in `stderr`). */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The commands, one method each. */
export interface DarwinCommands {
  /** `/sbin/route <args>`. */
  route(args: string[]): Promise<CommandResult>;
  /** `/sbin/ifconfig <args>`. */
  ifconfig(args: string[]): Promise<CommandResult>;
  /** `/usr/sbin/scutil` reading `script` on stdin. */
  scutil(script: string): Promise<CommandResult>;
}

/** Absolute paths of the commands. */
export const DARWIN_COMMANDS = {
  route: '/sbin/route',
  ifconfig: '/sbin/ifconfig',
  scutil: '/usr/sbin/scutil',
} as const;

const TIMEOUT_MS = 10_000;
const MAX_BUFFER = 1 << 20;

function run(file: string, args: string[], stdin?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C' },
        timeout: TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_BUFFER,
        cwd: '/',
      },
      (err, stdout, stderr) => {
        const out = { stdout: String(stdout), stderr: String(stderr) };
        if (!err) resolve({ code: 0, ...out });
        else if (typeof err.code === 'number') resolve({ code: err.code, ...out });
        else resolve({ code: -1, stdout: out.stdout, stderr: `${out.stderr}${err.message}` });
      },
    );
    child.stdin?.on('error', () => {
      // The command exited before reading everything; its exit status tells what happened.
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** The real commands. */
export function loadDarwinCommands(): DarwinCommands {
  return {
    route: (args) => run(DARWIN_COMMANDS.route, args),
    ifconfig: (args) => run(DARWIN_COMMANDS.ifconfig, args),
    scutil: (script) => run(DARWIN_COMMANDS.scutil, [], script),
  };
}
