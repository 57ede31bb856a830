/**
 * Running the diagnostic commands: by absolute path with an argv array (never a shell), the
 * agent's clean child environment, a timeout, an output bound, and at most {@link MAX_CHILDREN}
 * children at once however many bundles are being built — a diagnostic must not load the machine
 * it is diagnosing. Every normal failure (missing binary, non-zero exit, timeout) is a result,
 * never a throw, so a collector can state it in its file.
 */
import { execFile } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { childEnv } from '../environment.js';

/** Children the diagnostics run at once, agent-wide; more wait in line. */
export const MAX_CHILDREN = 4;
/** Default time a command may take. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** Default bound of stdout and of stderr, each. */
export const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
/** The exit code recorded for a command that could not be started (a shell's "command not found"). */
export const EXIT_NOT_RUN = 127;
/** The exit code recorded for a command stopped at its timeout (timeout(1)'s). */
export const EXIT_TIMEOUT = 124;

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Default {@link DEFAULT_COMMAND_TIMEOUT_MS}; counted from the child's start, not its wait in line. */
  timeoutMs?: number;
  /** Stops the command (or its wait in line), reported like a timeout. */
  signal?: AbortSignal;
  /** Bound of stdout and of stderr; beyond it the child is killed and the output kept so far returned. */
  maxBytes?: number;
}

/** What a command did. */
export interface RunResult {
  stdout: string;
  stderr: string;
  /** The exit code, `timeout` (stopped by timeout or signal) or `error` (not run, killed, too much output). */
  exit: number | 'timeout' | 'error';
  /** Time from the child's start to its end. */
  ms: number;
  /** Why the exit is `timeout` or `error`, in words. */
  error?: string;
}

let running = 0;
const queue: Array<() => void> = [];

/** Children running and waiting now (for tests and the agent's own status). */
export function childCount(): { running: number; queued: number } {
  return { running, queued: queue.length };
}

function acquire(signal: AbortSignal | undefined): Promise<boolean> {
  if (running < MAX_CHILDREN) {
    running++;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const start = (): void => {
      signal?.removeEventListener('abort', leave);
      running++;
      resolve(true);
    };
    const leave = (): void => {
      const i = queue.indexOf(start);
      if (i !== -1) queue.splice(i, 1);
      resolve(false);
    };
    if (signal?.aborted) return resolve(false);
    signal?.addEventListener('abort', leave, { once: true });
    queue.push(start);
  });
}

function release(): void {
  running--;
  queue.shift()?.();
}

interface ExecError extends Error {
  code?: string | number | null;
  signal?: NodeJS.Signals | null;
}

/**
 * Runs `file` (an absolute path) with `args`. Resolves with the outcome in every normal case;
 * rejects only on a programming error (a relative path: the agent never searches PATH).
 */
export async function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!isAbsolute(file))
    throw new TandemError(ErrorCodes.INTERNAL, `diagnostic command must be an absolute path, not ${file}`, {
      details: { file },
    });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (!(await acquire(opts.signal)))
    return { stdout: '', stderr: '', exit: 'timeout', ms: 0, error: 'stopped before it started' };
  const started = performance.now();
  let why: string | null = null;
  let kill = (): void => undefined;
  // Killed by hand rather than through execFile's signal option, which answers before the
  // child is gone: the slot is freed only once the child has been reaped.
  const stop = (reason: string): void => {
    why ??= reason;
    kill();
  };
  const onAbort = (): void => stop('stopped: the collector ran out of time');
  const timer = setTimeout(() => stop(`no result within ${timeoutMs} ms`), timeoutMs);
  try {
    return await new Promise<RunResult>((resolve) => {
      const child = execFile(
        file,
        [...args],
        {
          env: childEnv(),
          encoding: 'utf8',
          maxBuffer: opts.maxBytes ?? DEFAULT_MAX_BYTES,
          killSignal: 'SIGKILL',
          windowsHide: true,
        },
        (err: ExecError | null, stdout, stderr) => {
          const ms = Math.round(performance.now() - started);
          const out = { stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), ms };
          if (!err) return resolve({ ...out, exit: 0 });
          if (why !== null) return resolve({ ...out, exit: 'timeout', error: why });
          if (typeof err.code === 'number') return resolve({ ...out, exit: err.code });
          resolve({ ...out, exit: 'error', error: describe(file, err, opts.maxBytes ?? DEFAULT_MAX_BYTES) });
        },
      );
      kill = () => {
        child.kill('SIGKILL');
        // A grandchild holding the pipes open would keep 'close' from coming: stop reading after a grace time.
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, 1000).unref();
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    release();
  }
}

function describe(file: string, err: ExecError, maxBytes: number): string {
  if (err.code === 'ENOENT') return `${file} not installed`;
  if (err.code === 'EACCES') return `${file} is not executable here (permission denied)`;
  if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return `output beyond ${maxBytes} bytes, stopped there`;
  if (err.signal) return `terminated by ${err.signal}`;
  return err.message;
}

/** How a command line is shown: arguments with spaces or quotes quoted. */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The manifest's exit code for a result: its own, or 124 (timeout) / 127 (not run or failed to finish). */
export function exitCode(r: RunResult): number {
  if (typeof r.exit === 'number') return r.exit;
  return r.exit === 'timeout' ? EXIT_TIMEOUT : EXIT_NOT_RUN;
}

/**
 * One command's block of text: the `$ command` line, its output, its stderr (if any) and, when
 * it did not end with 0, why.
 */
export function formatRun(file: string, args: readonly string[], r: RunResult): string {
  const parts = [`$ ${commandLine(file, args)}`];
  if (r.stdout) parts.push(r.stdout.replace(/\n?$/, ''));
  if (r.stderr) parts.push(`[stderr]\n${r.stderr.replace(/\n?$/, '')}`);
  if (r.exit === 'timeout') parts.push(`[timed out: ${r.error ?? ''}]`);
  else if (r.exit === 'error') parts.push(`[not run: ${r.error ?? ''}]`);
  else if (r.exit !== 0) parts.push(`[exit ${r.exit}]`);
  else if (!r.stdout && !r.stderr) parts.push('(no output)');
  return `${parts.join('\n')}\n`;
}

/** A command to run for a collector. */
export interface CommandSpec {
  file: string;
  args: readonly string[];
}

/**
 * Runs commands one after the other and joins their blocks (blank line between) into a
 * collector's result; its exit is the first non-zero one (see {@link exitCode}), else 0.
 */
export async function commandResult(
  commands: readonly CommandSpec[],
  opts: RunOptions = {},
): Promise<{ data: string; exit: number }> {
  const blocks: string[] = [];
  let exit = 0;
  for (const c of commands) {
    const r = await runCommand(c.file, c.args, opts);
    blocks.push(formatRun(c.file, c.args, r));
    if (exit === 0) exit = exitCode(r);
  }
  return { data: blocks.join('\n'), exit };
}
