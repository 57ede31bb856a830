/**
 * The common frame of every API command: parse the agent options plus the command's own,
 * reject stray arguments, and turn any failure into the shared error report (exit 1, stable
 * code in `--json`). Commands only write the part that talks to the agent.
 */
import { parseCommandArgs, type OptionSpec, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { UsageError, type CliIo } from '../io.js';
import { AGENT_OPTIONS } from './agent.js';
import { reportError } from './errors.js';

/** What a command body receives. */
export interface ApiContext {
  values: ParsedArgs['values'];
  positionals: string[];
  io: CliIo;
  /** `--json` was given. */
  json: boolean;
}

/** Declaration of one API command. */
export interface ApiCommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Options besides `--socket`, `--allow-non-root-agent` and `--json`. */
  options?: OptionSpec;
  /** Most positional arguments accepted (default 0). */
  maxPositionals?: number;
  body(ctx: ApiContext): Promise<number>;
}

/** Builds the command table entry for an API command. */
export function apiCommand(spec: ApiCommandSpec): Command {
  const options: OptionSpec = { ...AGENT_OPTIONS, json: { type: 'boolean' }, ...spec.options };
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    options,
    async run(argv: string[], io: CliIo): Promise<number> {
      const { values, positionals } = parseCommandArgs(argv, options);
      const extra = positionals[spec.maxPositionals ?? 0];
      if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
      const json = values['json'] === true;
      try {
        return await spec.body({ values, positionals, io, json });
      } catch (err) {
        return reportError(io, spec.name, json, err);
      }
    },
  };
}
