/**
 * What the three completion scripts share: which words may follow the words typed so far, one
 * line of description per word or option, and how a value is offered. Each shell's module only
 * spells these out in its own syntax.
 */
import { HELP_COMMAND } from '../../global-options.js';
import { byName, type CommandDoc, type OptionDoc, type ProgramDoc, type ValueKind } from './describe.js';

/** A word to offer, with its one-line description. */
export interface Word {
  word: string;
  description: string;
}

/** The completion view of `tandem`: commands merged by name, the words that lead to them. */
export interface CompletionModel {
  /** One per command name (`connect` and `connect --foreground` merged). */
  commands: CommandDoc[];
  /** Keyed by the words typed so far joined by spaces (`''`, `diag`): what may come next. */
  next: Map<string, Word[]>;
  /** Options in place of a command (`--version`). */
  globalOptions: OptionDoc[];
  /** The word of `tandem help [command]`. */
  help: string;
}

/** A description shortened to one line of at most 72 characters, cut between words. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= 72 ? line : `${line.slice(0, line.lastIndexOf(' ', 69))}...`;
}

/** Builds the model from the description of `tandem`. */
export function completionModel(program: ProgramDoc): CompletionModel {
  const commands = byName(program.commands);
  const next = new Map<string, Word[]>();
  for (const c of commands) {
    c.words.forEach((word, i) => {
      const prefix = c.words.slice(0, i).join(' ');
      const list = next.get(prefix) ?? [];
      const last = i === c.words.length - 1;
      if (!list.some((w) => w.word === word)) list.push({ word, description: last ? oneLine(c.summary) : '' });
      next.set(prefix, list);
    });
  }
  // A word that only leads to further words is described by them: `diag` -> "bundle, inspect".
  for (const [prefix, words] of next) {
    for (const w of words) {
      if (w.description !== '') continue;
      const key = prefix === '' ? w.word : `${prefix} ${w.word}`;
      w.description = `Subcommands: ${(next.get(key) ?? []).map((sub) => sub.word).join(', ')}`;
    }
  }
  next.get('')?.push({ word: HELP_COMMAND.name, description: HELP_COMMAND.summary });
  return { commands, next, globalOptions: program.options, help: HELP_COMMAND.name };
}

/** How a value is offered, as the scripts encode it: `file`, `dir`, `choice A B…`, `text`. */
export function valueCode(kind: ValueKind): string {
  return kind.kind === 'choice' ? `choice ${kind.choices.join(' ')}` : kind.kind;
}

/** Every spelling of an option on a command line: `--name` and `-x`. */
export function spellings(o: OptionDoc): string[] {
  return [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])];
}

/** Quotes for bash and zsh: single quotes, a single quote as `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Groups a command's value-taking options by how their value is offered, for one `case` arm
 * each: `[['dir', ['--user-store', '--machine-store']], ['choice user machine', ['--tunnel']]]`.
 */
export function valueGroups(c: CommandDoc): Array<[string, string[]]> {
  const groups = new Map<string, string[]>();
  for (const o of c.options) {
    if (!o.value) continue;
    const code = valueCode(o.value);
    groups.set(code, [...(groups.get(code) ?? []), ...spellings(o)]);
  }
  return [...groups];
}
