/**
 * `tandem recover`: undo what a dead tunnel process left behind (routes, DNS, vpnc-script
 * state), from the network journal written before any change was made.
 */
import { DEFAULT_JOURNAL_DIR, recover, removeFailClosed } from '@tandem/tunnel';
import { redactor } from '@tandem/common';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';

/** Usage text of `tandem recover`. */
export const USAGE = `Usage: tandem recover [--journal-dir DIR] [--json]

Restore the network exactly as it was before a tunnel whose process died (SIGKILL, crash):
default route and other routes, resolv.conf bytes, vpnc-script leftovers. Journals whose owner
is still running are left alone. Always-On's fail-closed block (nftables table
tandem_failclosed) is removed. Safe to run at any time; running it twice changes nothing.

Options:
  --journal-dir DIR          Network journal directory (default /run/tandem/netjournal)
  --json                     The report as one JSON line`;

/** parseArgs declarations of `tandem recover`. */
export const OPTIONS: OptionSpec = { 'journal-dir': { type: 'string' }, json: { type: 'boolean' } };

/** Runs `tandem recover`. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const dir = typeof values['journal-dir'] === 'string' ? values['journal-dir'] : undefined;
  const report = {
    ...(await recover(dir)),
    // Always-On's block stays after a crash until an agent decides; an administrator who runs
    // recover (or removes the package) wants the network back.
    failClosedRemoved: await removeFailClosed(dir ?? DEFAULT_JOURNAL_DIR),
  };
  if (values['json'] === true) io.out(`${redactor.string(JSON.stringify(report))}\n`);
  else io.out(redactor.string(`${JSON.stringify(report, null, 2)}\n`));
  return ExitCode.OK;
}

/** The `recover` command for the registry. */
export const recoverCommand: Command = {
  name: 'recover',
  summary: 'Restore routes and DNS left behind by a dead tunnel process',
  usage: USAGE,
  options: OPTIONS,
  run,
};
