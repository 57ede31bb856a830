/**
 * Argument parsing on top of node:util parseArgs, turning its exceptions into
 * {@link UsageError} so every command reports bad flags the same way (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

/** Option declarations as accepted by parseArgs. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** The `--help`/`-h` every command accepts besides its own options (described in global-options.ts). */
export const HELP_OPTION: OptionSpec = { help: { type: 'boolean', short: 'h' } };

/** Parsed values and positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

/** Strictly parses `argv` (unknown options are usage errors); `--help`/`-h` is always accepted. */
export function parseCommandArgs(argv: string[], options: OptionSpec): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, ...HELP_OPTION },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}
