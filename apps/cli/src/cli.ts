/**
 * The CLI logic behind `tandem`: global flags (--version, --help), `help [command]`, and
 * dispatch to the command table in commands.ts. Kept free of `process` so tests can run it
 * in-process; main.ts wires it to the real streams.
 */
import { COMMANDS, commandsUnder, findCommand, type CommandEntry } from './commands.js';
import { GLOBAL_USAGE, HELP_COMMAND, isGlobalOption } from './global-options.js';
import { ExitCode, UsageError, type CliIo } from './io.js';
import { cliVersion } from './version.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: tandem <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${`${HELP_COMMAND.name} [${HELP_COMMAND.operand}]`.padEnd(width)}  ${HELP_COMMAND.summary}`,
    '',
    'Global options:',
    GLOBAL_USAGE,
    '',
  ].join('\n');
}

async function runCommand(entry: CommandEntry, rest: string[], io: CliIo): Promise<number> {
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.usage}\n`);
    return ExitCode.OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`tandem ${command.name}: ${err.message}\n${command.usage}\n`);
      return ExitCode.USAGE;
    }
    throw err;
  }
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...others] = argv;
  if (first === undefined) {
    io.err(overview());
    return ExitCode.USAGE;
  }
  if (isGlobalOption(first, 'version')) {
    io.out(`tandem ${cliVersion()}\n`);
    return ExitCode.OK;
  }
  if (isGlobalOption(first, 'help')) {
    io.out(overview());
    return ExitCode.OK;
  }
  if (first === HELP_COMMAND.name) {
    if (others.length === 0) {
      io.out(overview());
      return ExitCode.OK;
    }
    const found = findCommand(others);
    const group = commandsUnder(others);
    if (found && found.rest.length === 0) io.out(`${(await found.command.load()).usage}\n`);
    else if (group.length > 0)
      io.out(`${(await Promise.all(group.map((c) => c.load()))).map((c) => c.usage).join('\n\n')}\n`);
    else {
      io.err(`tandem: unknown command "${others.join(' ')}"\n${overview()}`);
      return ExitCode.USAGE;
    }
    return ExitCode.OK;
  }
  const found = findCommand(argv);
  if (found) return runCommand(found.command, found.rest, io);
  const group = commandsUnder(argv.filter((a) => !a.startsWith('-')).slice(0, 1));
  if (group.length > 0) {
    io.err(
      `tandem: "${first}" needs a subcommand:\n${group.map((c) => `  tandem ${c.name}  ${c.summary}`).join('\n')}\n`,
    );
  } else {
    io.err(`tandem: unknown command "${first}"\n${overview()}`);
  }
  return ExitCode.USAGE;
}
