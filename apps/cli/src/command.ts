/**
 * The shape of one CLI command, kept apart from the registry in commands.ts so command modules
 * can import it without importing the registry that imports them.
 */
import type { OptionSpec } from './args.js';
import type { CliIo } from './io.js';

/** One CLI command. */
export interface Command {
  /** Space-separated words as typed, e.g. `profile check`. */
  name: string;
  /** One line for `tandem help`. */
  summary: string;
  /**
   * Full usage text for `tandem help <command>` and usage errors. Its `  --flag ARG  text` lines
   * describe {@link options} one for one (apps/cli/test/reference-drift.test.ts holds them to it).
   */
  usage: string;
  /**
   * The options `run` hands to parseArgs (without the `--help` every command accepts): the one
   * declaration behind parsing, `tandem completion` and the man page.
   */
  options: OptionSpec;
  /**
   * For commands that share their words with another (`connect` through the agent vs
   * `connect --foreground` in this process): true when this one should handle `rest`.
   */
  selects?(rest: readonly string[]): boolean;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/**
 * A command as the table in commands.ts knows it: its words, its one-line summary, and how to
 * load it. Declared here so a command that reads the table (`tandem completion`) can take it as
 * an argument without importing the registry that imports it.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  /** See {@link Command.selects}. */
  selects?(rest: readonly string[]): boolean;
  load(): Promise<Command>;
}
