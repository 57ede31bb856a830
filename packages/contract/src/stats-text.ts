/**
 * The text of `stats` sections in `vpncli stats` layout (`[ Connection Information ]`, indented
 * `Name:  value` lines, `Not Available` for empty values): one rendering for `tandem stats` and
 * the diagnostic bundle's stats.txt, so support reads the same thing in both.
 */
import type { Infer } from './schema.js';
import type { StatsSection } from './shapes.js';

/** The vpncli-style text of `sections`. */
export function statsText(sections: ReadonlyArray<Infer<typeof StatsSection>>): string {
  const out: string[] = [];
  for (const section of sections) {
    out.push(`[ ${section.title} ]`, '');
    const width = Math.max(0, ...section.entries.map((e) => e.name.length + 1));
    for (const e of section.entries)
      out.push(`    ${`${e.name}:`.padEnd(width)}  ${e.value === '' ? 'Not Available' : e.value}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
