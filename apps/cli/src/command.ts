/**
 * The shape of one CLI command, kept apart from the registry in commands.ts so command modules
 * can import it without importing the registry that imports them.
 */
import type { CliIo } from './io.js';

/** One CLI command. */
export interface Command {
  /** Space-separated words as typed, e.g. `profile check`. */
  name: string;
  /** One line for `tandem help`. */
  summary: string;
  /** Full usage text for `tandem help <command>` and usage errors. */
  usage: string;
  /**
   * For commands that share their words with another (`connect` through the agent vs
   * `connect --foreground` in this process): true when this one should handle `rest`.
   */
  selects?(rest: readonly string[]): boolean;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}
