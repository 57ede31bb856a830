/**
 * The options `tandem` understands outside any one command: `--version` and `--help` before a
 * command, and the `--help` every command accepts. Declared once, like a command's options, so
 * the overview, parsing, the man page and the completions cannot disagree.
 */
import type { OptionSpec } from './args.js';

export { HELP_OPTION } from './args.js';

/** Usage line of the `--help` every command accepts (HELP_OPTION in args.ts). */
export const HELP_USAGE = `  --help, -h                 Show the command's usage and exit`;

/** Options `tandem` takes in place of a command. */
export const GLOBAL_OPTIONS: OptionSpec = {
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
};

/** Usage lines of {@link GLOBAL_OPTIONS}. */
export const GLOBAL_USAGE = `  --version, -V  Print the version
  --help, -h     Show this help`;

/** `tandem help [command]`, which cli.ts handles itself rather than through the command table. */
export const HELP_COMMAND = { name: 'help', operand: 'command', summary: 'Show help for tandem or one command' };

/** True when `arg` spells the global option `name` (`--name` or its short form). */
export function isGlobalOption(arg: string, name: string): boolean {
  const short = GLOBAL_OPTIONS[name]?.short;
  return arg === `--${name}` || (short !== undefined && arg === `-${short}`);
}
