/**
 * One machine-readable description of a program's command line, built from the objects the
 * program itself runs on: the command table, each command's parseArgs declarations and its usage
 * text. The man pages and the shell completions are rendered from it and nothing else.
 */
import type { OptionSpec } from '../../args.js';
import type { Command, CommandEntry } from '../../command.js';
import { GLOBAL_OPTIONS, GLOBAL_USAGE, HELP_OPTION, HELP_USAGE } from '../../global-options.js';
import { usageOptions, usageParts } from './usage-text.js';

/** What an option's value (or a command's operand) is, for completion. */
export type ValueKind =
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'choice'; choices: string[] }
  /** Free text: nothing to offer. */
  | { kind: 'text' };

/** One option. */
export interface OptionDoc {
  /** Long name, without dashes. */
  name: string;
  short?: string;
  /** The value's placeholder (`DIR`); absent for a flag. */
  metavar?: string;
  /** The value's kind; absent for a flag. */
  value?: ValueKind;
  /** May be given more than once. */
  repeatable: boolean;
  /** From the usage text; empty when it has none (see optionDrift). */
  description: string;
}

/** One command of `tandem`. */
export interface CommandDoc {
  /** Words as typed, e.g. `diag bundle`. */
  name: string;
  words: string[];
  summary: string;
  /** Synopsis lines from the usage text, without `Usage:`. */
  synopsis: string[];
  /** Prose paragraphs from the usage text. */
  prose: string[];
  /** Every option the command parses, `--help` last. */
  options: OptionDoc[];
  /** What its first operand is, when the synopsis names a file or a choice. */
  operand?: ValueKind;
}

/** A whole program: its own synopsis and options, and its commands (none for tandemd). */
export interface ProgramDoc {
  name: string;
  synopsis: string[];
  prose: string[];
  options: OptionDoc[];
  commands: CommandDoc[];
}

const CHOICES = /^[a-z0-9-]+(?:\|[a-z0-9-]+)+$/;

/** The kind of value a placeholder stands for. */
export function valueKind(metavar: string): ValueKind {
  if (CHOICES.test(metavar)) return { kind: 'choice', choices: metavar.split('|') };
  if (/^(?:FILE|F|PATH)(?:\.\.\.)?$/.test(metavar)) return { kind: 'file' };
  if (/^DIR$/.test(metavar)) return { kind: 'dir' };
  return { kind: 'text' };
}

/** A `--name a|b|c` anywhere in the text (synopses often spell out choices the table abbreviates). */
function choicesInText(usage: string, name: string): string | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`--${escaped}[ =]([a-z0-9-]+(?:\\|[a-z0-9-]+)+)(?![\\w|])`).exec(usage)?.[1];
}

/** The options of `spec` in the order the usage text describes them (undescribed ones last). */
export function describeOptions(usage: string, spec: OptionSpec): OptionDoc[] {
  const described = usageOptions(usage, spec);
  const place = (name: string): number => {
    const i = described.findIndex((d) => d.name === name);
    return i < 0 ? described.length : i;
  };
  const names = Object.keys(spec).sort((a, b) => place(a) - place(b));
  return names.map((name) => {
    const declared = spec[name]!;
    const doc = described.find((d) => d.name === name);
    const short = declared.short;
    const base = { name, ...(short ? { short } : {}), repeatable: declared.multiple === true };
    if (declared.type === 'boolean') return { ...base, description: doc?.description ?? '' };
    const shown = doc?.metavar ?? 'VALUE';
    const metavar = valueKind(shown).kind === 'choice' ? shown : (choicesInText(usage, name) ?? shown);
    return { ...base, metavar, value: valueKind(metavar), description: doc?.description ?? '' };
  });
}

/** The first operand named by a synopsis line after the command words (`FILE...`, `bash|zsh`). */
function operand(synopsis: string | undefined, words: readonly string[]): ValueKind | undefined {
  const rest = (synopsis ?? '').split(/\s+/).slice(1 + words.length);
  const first = rest[0]?.replace(/\.\.\.$/, '');
  if (first === undefined || /^[[-]/.test(first)) return undefined;
  const kind = valueKind(first);
  return kind.kind === 'text' ? undefined : kind;
}

/** Describes one command. */
export function describeCommand(command: Command): CommandDoc {
  const words = command.name.split(' ');
  const { synopsis, prose } = usageParts(command.usage);
  const kind = operand(synopsis[0], words);
  return {
    name: command.name,
    words,
    summary: command.summary,
    synopsis,
    prose,
    options: [...describeOptions(command.usage, command.options), ...describeOptions(HELP_USAGE, HELP_OPTION)],
    ...(kind ? { operand: kind } : {}),
  };
}

/** Loads every command of the table and describes it, in table order. */
export async function describeCommands(entries: readonly CommandEntry[]): Promise<CommandDoc[]> {
  return (await Promise.all(entries.map((e) => e.load()))).map(describeCommand);
}

/**
 * One description per command name: commands that share their words (`connect` through the
 * agent and `connect --foreground`) merged, options of the first kept where both have them.
 * What a completion offers after those words.
 */
export function byName(commands: readonly CommandDoc[]): CommandDoc[] {
  const merged = new Map<string, CommandDoc>();
  for (const c of commands) {
    const seen = merged.get(c.name);
    if (!seen) {
      merged.set(c.name, { ...c, options: [...c.options] });
      continue;
    }
    for (const o of c.options) if (!seen.options.some((s) => s.name === o.name)) seen.options.push(o);
    if (!seen.operand && c.operand) seen.operand = c.operand;
  }
  return [...merged.values()];
}

/** `tandem` itself: its global options and every command of `entries` (the command table). */
export async function describeTandem(entries: readonly CommandEntry[]): Promise<ProgramDoc> {
  return {
    name: 'tandem',
    synopsis: ['tandem COMMAND [OPTIONS] [ARGUMENTS]', 'tandem help [COMMAND]', 'tandem --version | --help'],
    prose: [],
    options: describeOptions(GLOBAL_USAGE, GLOBAL_OPTIONS),
    commands: await describeCommands(entries),
  };
}

/** A program without commands (tandemd, tandem-lab-gateway) from its usage text and declarations. */
export function describeProgram(name: string, usage: string, spec: OptionSpec): ProgramDoc {
  const { synopsis, prose } = usageParts(usage);
  return { name, synopsis, prose, options: describeOptions(usage, spec), commands: [] };
}
