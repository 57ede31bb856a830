/**
 * Processes and clean-up for the demo. Everything is started with an argv array (execFile /
 * spawn, never a shell string). Every child, temp dir and namespace is registered with the
 * clean-up list the moment it exists, so Ctrl-C or a failure at any step removes exactly what
 * was made and nothing else.
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Clean-up actions, run last-in first-out. */
const cleanups = [];
let cleaning = null;

/**
 * Registers a clean-up action (sync or async). Actions run in reverse order of registration.
 * @param {string} what shown if the action fails
 * @param {() => unknown} action
 */
export function onCleanup(what, action) {
  cleanups.push({ what, action });
}

/** Registers a directory for recursive removal at clean-up. */
export function removeLater(dir) {
  onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
}

/**
 * Runs every registered clean-up action once, even if some fail; safe to call repeatedly
 * (a second Ctrl-C while cleaning waits for the same run).
 * @returns {Promise<string[]>} the actions that failed, with their errors
 */
export function cleanupAll() {
  cleaning ??= (async () => {
    const failed = [];
    while (cleanups.length > 0) {
      const { what, action } = cleanups.pop();
      try {
        await action();
      } catch (err) {
        failed.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failed;
  })();
  return cleaning;
}

/**
 * Runs a command to completion. Never throws for a non-zero exit: the story shows failures
 * as they are, so the caller decides what a code means.
 * @param {string} file
 * @param {string[]} args
 * @param {{ uid?: number, gid?: number, env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        maxBuffer: 16 << 20,
        timeout: opts.timeoutMs ?? 30_000,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? (err ? err.message : '')) });
      },
    );
  });
}

/** Like {@link run} but throws with stderr when the exit code is not 0 (for set-up steps). */
export async function must(file, args, opts) {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`${[file, ...args].join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Starts a long-running child, collects its output, and kills it at clean-up (SIGTERM, then
 * SIGKILL after 3 s) so a stuck process can never outlive the demo.
 * @param {string} file
 * @param {string[]} args
 * @param {{ uid?: number, gid?: number, env?: NodeJS.ProcessEnv, name?: string }} [opts]
 */
export function start(file, args, opts = {}) {
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
  });
  const proc = { child, stdout: '', stderr: '', exited: null };
  proc.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.once('error', (err) => {
    proc.stderr += `\n${err.message}`;
  });
  child.stdout.on('data', (d) => {
    proc.stdout += d;
  });
  child.stderr.on('data', (d) => {
    proc.stderr = (proc.stderr + d).slice(-200_000);
  });
  onCleanup(`stop ${opts.name ?? file}`, () => stop(proc));
  return proc;
}

/** Stops a started child: SIGTERM, SIGKILL after `graceMs`. Resolves with its exit code/signal. */
export async function stop(proc, graceMs = 3000) {
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }
  return proc.exited;
}

/**
 * Waits until `test()` returns a truthy value (polled every `everyMs`), or throws `what`.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} test
 * @param {number} [timeoutMs]
 */
export async function until(what, test, timeoutMs = 15_000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await test();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Parses the JSON lines a child printed so far (the lab gateway's events). */
export function jsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* a partial line: read it next time */
    }
  }
  return out;
}
