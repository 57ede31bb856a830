/**
 * `tandem profile check FILE... [--json] [--management-tunnel]`: parses each file in-process
 * and reports what Tandem understood. Exit 0 when every file is valid (warnings allowed),
 * 1 when any file is invalid, 2 for a bad command line.
 */
import { isTandemError } from '@tandem/common';
import { loadProfileFile, type LoadOptions } from '@tandem/profile';
import type { CheckResult } from './check-result.js';
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { renderError, renderReport } from './profile-report.js';

export type { CheckError, CheckResult } from './check-result.js';

/** Loads one file and turns any refusal into a CheckResult instead of an exception. */
export async function checkFile(file: string, opts: LoadOptions = {}): Promise<CheckResult> {
  try {
    const parsed = await loadProfileFile(file, opts);
    return {
      file,
      valid: true,
      kind: parsed.document.kind,
      errors: [],
      warnings: parsed.warnings,
      profile: parsed.document,
    };
  } catch (err) {
    if (!isTandemError(err)) throw err;
    const line = typeof err.details['line'] === 'number' && err.details['line'] > 0 ? err.details['line'] : null;
    const column = line !== null && typeof err.details['column'] === 'number' ? err.details['column'] : null;
    return {
      file,
      valid: false,
      kind: null,
      errors: [{ line, column, message: err.message, code: err.code }],
      warnings: [],
      profile: null,
    };
  }
}

const USAGE = `Usage: tandem profile check FILE... [--json] [--management-tunnel]

Parse AnyConnect / Secure Client profiles or local policy files and show what Tandem understood:
server list, certificate stores and matching rules, machine-tunnel settings, and warnings with
line numbers. Exit status: 0 all files valid (warnings allowed), 1 any file invalid, 2 usage error.

Options:
  --json                One JSON array, one object per file (see packages/profile/README.md)
  --management-tunnel   Treat every file as a management tunnel profile (otherwise detected from
                        the name VpnMgmtTunProfile.xml or a "mgmttun" directory)`;

/** parseArgs declarations of `tandem profile check`. */
export const OPTIONS: OptionSpec = { json: { type: 'boolean' }, 'management-tunnel': { type: 'boolean' } };

/** The command table entry. */
export const profileCheckCommand: Command = {
  name: 'profile check',
  summary: 'Validate profile / local policy files and show what was understood',
  usage: USAGE,
  options: OPTIONS,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS);
    if (positionals.length === 0) throw new UsageError('no FILE given');
    const opts: LoadOptions = values['management-tunnel'] === true ? { managementTunnel: true } : {};
    const results: CheckResult[] = [];
    for (const file of positionals) results.push(await checkFile(file, opts));
    if (values['json'] === true) {
      io.out(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      for (const r of results) {
        if (r.valid) io.out(renderReport(r));
        else io.err(renderError(r));
      }
    }
    return results.every((r) => r.valid) ? ExitCode.OK : ExitCode.FAILURE;
  },
};
