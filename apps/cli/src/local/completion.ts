/**
 * `tandem completion bash|zsh|fish`: prints the shell's completion script, generated from the
 * command table it is given (the same table `tandem help` lists and main dispatches on).
 */
import { parseCommandArgs, type OptionSpec } from '../args.js';
import type { Command, CommandEntry } from '../command.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { bashCompletion } from './reference/completion-bash.js';
import { fishCompletion } from './reference/completion-fish.js';
import { zshCompletion } from './reference/completion-zsh.js';
import { describeTandem, type ProgramDoc } from './reference/describe.js';

/** Usage text of `tandem completion`. */
export const USAGE = `Usage: tandem completion bash|zsh|fish

Print a completion script for the shell: command words, then each command's options and, where
they take files or one of a few words, their values. Packages install all three; to try one in
the running shell: source <(tandem completion bash), source <(tandem completion zsh) or
tandem completion fish | source.`;

/** parseArgs declarations of `tandem completion` (none of its own). */
export const OPTIONS: OptionSpec = {};

const RENDER: Record<string, (program: ProgramDoc) => string> = {
  bash: bashCompletion,
  zsh: zshCompletion,
  fish: fishCompletion,
};

/** The command, reading the table it completes from `table`. */
export function completionCommand(table: readonly CommandEntry[]): Command {
  return {
    name: 'completion',
    summary: 'Print a bash, zsh or fish completion script for tandem',
    usage: USAGE,
    options: OPTIONS,
    async run(argv: string[], io: CliIo): Promise<number> {
      const { positionals } = parseCommandArgs(argv, OPTIONS);
      if (positionals.length !== 1)
        throw new UsageError(
          positionals.length ? `unexpected argument "${positionals[1]}"` : 'which shell? bash, zsh or fish',
        );
      const render = Object.hasOwn(RENDER, positionals[0]!) ? RENDER[positionals[0]!] : undefined;
      if (!render) throw new UsageError(`no completion for "${positionals[0]}": bash, zsh or fish`);
      io.out(render(await describeTandem(table)));
      return ExitCode.OK;
    },
  };
}
