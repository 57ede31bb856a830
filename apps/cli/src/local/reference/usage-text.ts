/**
 * Reads a usage text the way a person does: the synopsis block at the top, the prose, and the
 * `  --flag ARG   description` lines. Option descriptions live only in usage texts (what `--help`
 * prints), so the man page and the completions take them from there; which options exist comes
 * from the parser's declarations, and {@link optionDrift} reports where the two disagree.
 */
import type { OptionSpec } from '../../args.js';

/** One option as a usage text describes it. */
export interface UsageOption {
  /** Long name, without dashes. */
  name: string;
  /** Short letter, when the line gives one (`--help, -h`). */
  short?: string;
  /** The value's placeholder (`DIR`, `user|machine`); absent for a flag. */
  metavar?: string;
  /** The description, continuation lines joined by single spaces. */
  description: string;
}

/** A usage text cut into its parts. */
export interface UsageParts {
  /** The synopsis lines without the `Usage:` prefix and without their alignment. */
  synopsis: string[];
  /** Paragraphs of prose between the synopsis and the options, lines joined. */
  prose: string[];
}

/** An option line: indented, then a flag. */
const OPTION_LINE = /^( {2,})-{1,2}[A-Za-z0-9]/;
const FLAG = /^(--?)([A-Za-z0-9][\w-]*)/;
/** A placeholder when the parser cannot tell: `DIR`, `HOST:IP`, `a|b`. */
const METAVAR = /^(?:[A-Z][A-Z0-9_:|.-]*|[a-z0-9-]+(?:\|[a-z0-9-]+)+)$/;

function takesValue(spec: OptionSpec, long: string | undefined, short: string | undefined, next: string): boolean {
  const declared = long !== undefined ? spec[long] : Object.values(spec).find((o) => o.short === short);
  return declared ? declared.type === 'string' : METAVAR.test(next.replace(/,$/, ''));
}

/** Parses the flags at the start of an option line; returns them and the description's start. */
function lineFlags(line: string, spec: OptionSpec): { options: UsageOption[]; rest: string } {
  const options: UsageOption[] = [];
  let pendingShort: string | undefined;
  let text = line.trimStart();
  for (;;) {
    const m = FLAG.exec(text);
    if (!m) break;
    text = text.slice(m[0].length);
    const long = m[1] === '--' ? m[2]! : undefined;
    const short = m[1] === '-' ? m[2]! : undefined;
    const next = /^ +(\S+)/.exec(text)?.[1] ?? '';
    let metavar: string | undefined;
    if (!text.startsWith(',') && next !== '' && takesValue(spec, long, short, next)) {
      metavar = next.replace(/,$/, '');
      text = text.replace(/^ +/, '').slice(metavar.length);
    }
    if (long !== undefined) {
      options.push({
        name: long,
        ...(pendingShort ? { short: pendingShort } : {}),
        ...(metavar ? { metavar } : {}),
        description: '',
      });
      pendingShort = undefined;
    } else {
      // `--help, -h`: the short spelling of the option before it; `-h, --help`: of the one after.
      const previous = options.at(-1);
      if (previous && previous.short === undefined) previous.short = short;
      else pendingShort = short;
    }
    const separator = /^(?:, *| (?=-))/.exec(text);
    if (!separator) break;
    text = text.slice(separator[0].length);
  }
  return { options, rest: text.trim() };
}

/**
 * The options a usage text describes, in order. `spec` (the parser's declarations) says which
 * flags take a value, so `--settings-dir DIR settings kept…` is read right with one space.
 */
export function usageOptions(usage: string, spec: OptionSpec): UsageOption[] {
  const found: UsageOption[] = [];
  let current: { options: UsageOption[]; indent: number } | null = null;
  for (const line of usage.split('\n')) {
    const m = OPTION_LINE.exec(line);
    if (m) {
      const { options, rest } = lineFlags(line, spec);
      for (const o of options) o.description = rest;
      found.push(...options);
      current = { options, indent: m[1]!.length };
    } else if (current && line.trim() !== '' && /^ */.exec(line)![0].length > current.indent) {
      for (const o of current.options) o.description = `${o.description} ${line.trim()}`.trim();
    } else {
      current = null;
    }
  }
  return found;
}

/** Splits a usage text into synopsis and prose (the options are read by {@link usageOptions}). */
export function usageParts(usage: string): UsageParts {
  const blocks = usage.trimEnd().split(/\n\s*\n/);
  const synopsis = (blocks[0] ?? '')
    .split('\n')
    .map((l, i) => (i === 0 ? l.replace(/^usage:\s*/i, '') : l).trim())
    .filter((l) => l !== '');
  const prose = blocks
    .slice(1)
    .map((block) => block.split('\n').filter((l) => !OPTION_LINE.test(l) && !/^(?:[\w ]+ )?options:$/i.test(l.trim())))
    .filter((lines) => lines.length > 0 && !/^ {2,}/.test(lines[0]!))
    .map((lines) => lines.map((l) => l.trim()).join(' '));
  return { synopsis, prose };
}

/**
 * Where a usage text and the parser disagree: a declared option without a description line, a
 * described option the parser refuses, a description line with no text, a short form that is
 * declared but not shown (or the reverse). Empty when they agree.
 */
export function optionDrift(usage: string, spec: OptionSpec): string[] {
  const described = usageOptions(usage, spec);
  const problems: string[] = [];
  for (const [name, declared] of Object.entries(spec)) {
    const doc = described.find((d) => d.name === name);
    if (!doc) {
      problems.push(`--${name} is parsed but the usage text has no line for it`);
      continue;
    }
    if (doc.description === '') problems.push(`--${name} has a usage line without a description`);
    if ((declared.short ?? '') !== (doc.short ?? ''))
      problems.push(
        `--${name}: the parser's short form is "${declared.short ?? ''}", the usage text's "${doc.short ?? ''}"`,
      );
  }
  for (const doc of described) {
    if (!Object.hasOwn(spec, doc.name))
      problems.push(`the usage text describes --${doc.name}, which the parser refuses`);
  }
  return problems;
}
