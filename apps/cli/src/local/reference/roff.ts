/**
 * Manual pages in roff with the man macros, laid out as man-pages(7) asks: .TH, then NAME,
 * SYNOPSIS, DESCRIPTION, (COMMANDS), OPTIONS, EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO.
 * Every piece of text goes through {@link roffText}, so a usage text can never inject a request.
 */
import type { CommandDoc, OptionDoc } from './describe.js';

/** A manual page's content; the layout is this module's business. */
export interface ManPage {
  /** Program name, e.g. `tandemd`. */
  name: string;
  section: '1' | '8';
  /** YYYY-MM-DD for the page footer. */
  date: string;
  /** e.g. `Tandem 0.1.0`. */
  source: string;
  /** One line for NAME, after the dash. */
  purpose: string;
  synopsis: string[];
  description: string[];
  /** For tandem(1): one subsection per command. */
  commands?: CommandDoc[];
  /** A paragraph before the option list. */
  optionsIntro?: string;
  options: OptionDoc[];
  exitStatus: Array<[string, string]>;
  environment: Array<[string, string]>;
  files: Array<[string, string]>;
  /** e.g. `tandemd(8)`. */
  seeAlso: string[];
}

/**
 * Escapes text for a roff text line: backslashes, a leading `.` or `'` (a request otherwise),
 * the hyphens of option names (`\-`, so they render and paste as ASCII minus signs), and
 * anything outside printable ASCII as a `\[uXXXX]` glyph (troff reads its input as Latin-1).
 */
export function roffText(text: string): string {
  return text
    .replace(/\t/g, ' ')
    .replace(/\\/g, '\\e')
    .replace(/(^|[\s[(|"'=,])(-{1,2}[A-Za-z0-9][\w-]*)/g, (_m, before: string, flag: string) => {
      return `${before}${flag.replace(/-/g, '\\-')}`;
    })
    .replace(/^([.'])/gm, '\\&$1')
    .replace(/[^\n\x20-\x7e]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Escapes every hyphen too: for names, synopses and placeholders, which are typed as shown. */
function literal(text: string): string {
  return roffText(text).replace(/(?<!\\)-/g, '\\-');
}

/** A quoted macro argument (no double quotes inside: they would end it). */
function arg(text: string): string {
  return `"${literal(text).replace(/"/g, "''")}"`;
}

function paragraphs(texts: readonly string[]): string[] {
  return texts.flatMap((t) => ['.PP', roffText(t)]);
}

/** Bold words, italic placeholders (uppercase words), brackets and bars in roman. */
function synopsisLine(line: string): string {
  return line
    .split(/(\s+|[[\]|])/)
    .map((token) => {
      if (token === '' || /^\s+$/.test(token) || /^[[\]|]$/.test(token)) return literal(token);
      if (/^[A-Z][A-Z0-9_.:]*(?:\.\.\.)?$/.test(token)) return `\\fI${literal(token)}\\fR`;
      return `\\fB${literal(token)}\\fR`;
    })
    .join('');
}

function synopsis(lines: readonly string[]): string[] {
  return lines.flatMap((l, i) => [...(i > 0 ? ['.br'] : []), synopsisLine(l)]);
}

function optionTag(o: OptionDoc): string {
  const names = [`\\fB\\-\\-${literal(o.name)}\\fR`, ...(o.short ? [`\\fB\\-${literal(o.short)}\\fR`] : [])];
  const value = o.metavar ? ` \\fI${literal(o.metavar)}\\fR` : '';
  return names.map((n) => `${n}${value}`).join(', ');
}

/** One tagged paragraph per description: options sharing a line (`--cert F, --key F`) share it here too. */
function optionList(options: readonly OptionDoc[]): string[] {
  const groups: OptionDoc[][] = [];
  for (const o of options) {
    const last = groups.at(-1);
    if (last && o.description !== '' && last[0]!.description === o.description) last.push(o);
    else groups.push([o]);
  }
  return groups.flatMap((group) => {
    const text = group[0]!.description || '(undocumented)';
    const repeatable = group.some((o) => o.repeatable) && !/repeatable/i.test(text) ? ' (repeatable)' : '';
    return ['.TP', group.map(optionTag).join(', '), roffText(text) + repeatable];
  });
}

function table(rows: ReadonlyArray<[string, string]>, tag: (t: string) => string): string[] {
  return rows.flatMap(([term, text]) => ['.TP', tag(term), roffText(text)]);
}

/** `connect URL --foreground`: the synopsis up to its first optional part, which tells apart commands sharing words. */
function heading(c: CommandDoc): string {
  const head = (c.synopsis[0] ?? c.name).split(' [')[0]!.replace(/^tandem /, '');
  return head.startsWith(c.name) ? head : c.name;
}

function commandSection(c: CommandDoc): string[] {
  return [
    `.SS ${arg(heading(c))}`,
    '.nf',
    ...c.synopsis.map(synopsisLine),
    '.fi',
    ...paragraphs(c.prose.length > 0 ? c.prose : [c.summary]),
    '.RS',
    ...optionList(c.options),
    '.RE',
  ];
}

/** Renders a page. */
export function renderManPage(page: ManPage): string {
  const sections: Array<[string, string[]]> = [
    ['NAME', [`${literal(page.name)} \\- ${roffText(page.purpose)}`]],
    ['SYNOPSIS', synopsis(page.synopsis)],
    ['DESCRIPTION', paragraphs(page.description).slice(1)],
    ['COMMANDS', (page.commands ?? []).flatMap(commandSection)],
    ['OPTIONS', [...(page.optionsIntro ? [roffText(page.optionsIntro)] : []), ...optionList(page.options)]],
    ['EXIT STATUS', table(page.exitStatus, (t) => `\\fB${literal(t)}\\fR`)],
    ['ENVIRONMENT', table(page.environment, (t) => `\\fB${literal(t)}\\fR`)],
    ['FILES', table(page.files, (t) => `\\fI${literal(t)}\\fR`)],
    [
      'SEE ALSO',
      [
        page.seeAlso
          .map((ref) => ref.replace(/^(.*)\((\w+)\)$/, (_m, n: string, s: string) => `\\fB${literal(n)}\\fR(${s})`))
          .join(',\n'),
      ],
    ],
  ];
  const lines = [
    `.\\" Generated by tandem's scripts/package/gen-docs.mjs from the command table; do not edit.`,
    `.TH ${page.name.toUpperCase().replace(/-/g, '\\-')} ${page.section} ${page.date} ${arg(page.source)} "Tandem Manual"`,
    // No hyphenation, ragged right: paths and option names stay whole and copyable.
    '.nh',
    '.ad l',
    ...sections
      .filter(([, body]) => body.length > 0 && body.join('') !== '')
      .flatMap(([title, body]) => [`.SH ${arg(title)}`, ...body]),
  ];
  return `${lines.join('\n')}\n`;
}
