/**
 * Process helpers for the benchmark: every command is an argv array (never a shell string),
 * and commands inside a namespace go through `ip netns exec`, which execs the program itself,
 * so a spawned child's PID is the measured program's PID.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a command and returns stdout; throws with stderr on failure. */
export async function sh(cmd, args, opts = {}) {
  const { stdout } = await run(cmd, args, {
    maxBuffer: 64 << 20,
    timeout: opts.timeoutMs ?? 60_000,
    env: opts.env ?? process.env,
  });
  return stdout;
}

/** Runs a command inside a network namespace. */
export function nsExec(ns, cmd, args, opts) {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Starts a long-running command inside a namespace. */
export function nsSpawn(ns, cmd, args, opts = {}) {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Resolves with the exit code (or signal name) when the child exits, at once if it has. */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** Sleeps. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with `value` after `ms` without keeping the process alive (for Promise.race deadlines). */
export const deadline = (ms, value) => new Promise((r) => setTimeout(r, ms, value).unref());

/** Keeps the last `limit` characters a child writes to stdout and stderr; returns a reader. */
export function outputTail(child, limit = 30_000) {
  let log = '';
  const keep = (d) => {
    log = (log + d).slice(-limit);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return () => log;
}

/**
 * Sends `signal` to the child's PID only and waits up to 15 s for it to exit, then SIGKILLs it.
 * @returns {Promise<number|string>} exit code, or 'SIGKILL after 15 s'
 */
export async function stopProcess(child, signal) {
  child.kill(signal);
  const code = await Promise.race([exited(child), deadline(15_000, 'timeout')]);
  if (code !== 'timeout') return code;
  child.kill('SIGKILL');
  await exited(child);
  return 'SIGKILL after 15 s';
}
