/**
 * Paths of the project's own programs and thin wrappers that run them with `node` and an
 * argv array, narrating the command line first so the reader can repeat any step by hand.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { command, output } from './narrate.mjs';
import { run, start } from './proc.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TANDEM = join(ROOT, 'apps/cli/bin/tandem.js');
export const TANDEMD = join(ROOT, 'apps/agent/bin/tandemd.js');
export const GATEWAY = join(ROOT, 'apps/lab-gateway/bin/tandem-lab-gateway.js');

/**
 * Runs `tandem ARGS`, prints the command and its output, and returns the result.
 * @param {string[]} args
 * @param {{ uid?: number, gid?: number, who?: string, netns?: string, quiet?: boolean, env?: NodeJS.ProcessEnv, timeoutMs?: number }} [opts]
 *   netns: run inside that namespace (`ip netns exec`, root only)
 */
export async function tandem(args, opts = {}) {
  const shown = ['tandem', ...args];
  command(shown, opts.who ?? (process.getuid?.() === 0 ? '#' : '$'));
  const [file, argv] = inNetns(opts.netns, process.execPath, [TANDEM, ...args]);
  const r = await run(file, argv, { cwd: ROOT, ...opts });
  if (!opts.quiet) {
    // Progress goes to stderr and the result to stdout: progress first reads top to bottom.
    output(r.stderr);
    output(r.stdout);
  }
  return r;
}

/**
 * `[file, argv]` that runs `file argv` inside namespace `ns` (or directly when ns is falsy).
 * `ip netns exec` execs the program itself, so the child's PID is the program's PID.
 */
export function inNetns(ns, file, args) {
  return ns ? ['ip', ['netns', 'exec', ns, file, ...args]] : [file, args];
}

/**
 * Starts `tandem-lab-gateway ARGS` (optionally inside a namespace) and returns the process.
 * @param {string[]} args
 * @param {{ netns?: string, name?: string }} [opts]
 */
export function startGateway(args, opts = {}) {
  const [file, argv] = inNetns(opts.netns, process.execPath, [GATEWAY, ...args]);
  return start(file, argv, { name: opts.name ?? 'tandem-lab-gateway' });
}
