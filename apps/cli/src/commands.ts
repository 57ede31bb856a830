/**
 * The command table. Adding a command = one module plus one line in {@link COMMANDS}.
 * In-process tools live in `local/`; commands that talk to the agent live in `api/` (the
 * dependency-cruiser layer rule keeps those away from agent-side packages).
 */
import type { CliIo } from './io.js';
import { profileCheckCommand } from './local/profile-check.js';

/** One CLI command. */
export interface Command {
  /** Space-separated words as typed, e.g. `profile check`. */
  name: string;
  /** One line for `tandem help`. */
  summary: string;
  /** Full usage text for `tandem help <command>` and usage errors. */
  usage: string;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Every command, in the order `tandem help` lists them. */
export const COMMANDS: readonly Command[] = [
  profileCheckCommand,
];

/**
 * Finds the command whose words are the longest prefix of `words`; returns it with the rest of
 * the arguments.
 */
export function findCommand(words: readonly string[]): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null;
  for (const command of COMMANDS) {
    const parts = command.name.split(' ');
    if (parts.every((p, i) => words[i] === p) && (!best || parts.length > best.command.name.split(' ').length)) {
      best = { command, rest: words.slice(parts.length) };
    }
  }
  return best;
}

/** Commands whose name starts with the given words (for `tandem profile` without a subcommand). */
export function commandsUnder(words: readonly string[]): Command[] {
  return COMMANDS.filter((c) => {
    const parts = c.name.split(' ');
    return words.length > 0 && words.length < parts.length && words.every((w, i) => parts[i] === w);
  });
}
