import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { parseAnyDocument } from '@tandem/profile';

const xmlIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .map((f) => readFileSync(resolve(dir, f), 'utf8'));
// Seeds: this package's element-by-element fixtures, plus the repository's profiles in deployed
// layouts (CRLF, mixed content, misplaced local-policy elements).
const seeds: string[] = [
  ...xmlIn(fileURLToPath(new URL('./fixtures/', import.meta.url))),
  ...xmlIn(fileURLToPath(new URL('../../../test/fixtures/profiles/', import.meta.url))),
];

const NAMES = [
  'AnyConnectProfile',
  'AnyConnectLocalPolicy',
  'ClientInitialization',
  'ServerList',
  'HostEntry',
  'HostName',
  'HostAddress',
  'CertificateMatch',
  'KeyUsage',
  'MatchKey',
  'DistinguishedNameDefinition',
  'AutomaticVPNPolicy',
  'AlwaysOn',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'ac:HostEntry',
  'x',
];
const SNIPPETS = [
  '<',
  '>',
  '</',
  '/>',
  '&',
  '&amp;',
  '&#x10FFFF;',
  '&#xD800;',
  '&lol;',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x>',
  '<!ENTITY a "b">',
  '"',
  "'",
  '=',
  ' xmlns="urn:x"',
  ' xmlns:ac="urn:y"',
  ' UserControllable="true"',
  '\u0000',
  '\r\n',
  '\uFEFF',
  'true',
  'TRUE',
  'i',
  '-1',
  '99999999999',
];

/** Random XML-ish documents built from profile vocabulary. */
const element: fc.Memo<string> = fc.memo((n) => {
  const leaf = fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 12 }));
  if (n <= 1) return leaf;
  return fc.oneof(
    leaf,
    fc
      .tuple(
        fc.constantFrom(...NAMES),
        fc.array(element(n - 1), { maxLength: 4 }),
        fc.constantFrom('', ' UserControllable="false"', ' Operator="NotEqual"'),
      )
      .map(([name, kids, attr]) => `<${name}${attr}>${kids.join('')}</${name}>`),
  );
});
const generated = fc
  .tuple(fc.constantFrom('AnyConnectProfile', 'AnyConnectLocalPolicy'), fc.array(element(5), { maxLength: 6 }))
  .map(([root, kids]) =>
    Buffer.from(`<${root} xmlns="http://schemas.xmlsoap.org/encoding/">${kids.join('')}</${root}>`),
  );

type Mutation = {
  kind: 'byte' | 'insert' | 'delete' | 'snippet' | 'truncate' | 'tag';
  at: number;
  value: number;
  text: string;
};
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('byte', 'insert', 'delete', 'snippet', 'truncate', 'tag'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
  text: fc.oneof(
    fc.constantFrom(...SNIPPETS),
    fc.constantFrom(...NAMES).map((n) => `<${n}>`),
    fc.string({ maxLength: 8 }),
  ),
});

function mutate(seed: string, muts: Mutation[]): Buffer {
  let buf = Buffer.from(seed, 'utf8');
  for (const m of muts) {
    const at = buf.length === 0 ? 0 : m.at % buf.length;
    if (m.kind === 'byte') {
      buf = Buffer.from(buf);
      buf[at] = m.value;
    } else if (m.kind === 'insert')
      buf = Buffer.concat([buf.subarray(0, at), Buffer.from([m.value]), buf.subarray(at)]);
    else if (m.kind === 'delete') buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + (m.value % 16))]);
    else if (m.kind === 'truncate') buf = buf.subarray(0, at);
    else
      buf = Buffer.concat([
        buf.subarray(0, at),
        Buffer.from(m.kind === 'tag' ? `<${m.text.replace(/[<>]/g, '')}>` : m.text),
        buf.subarray(at),
      ]);
  }
  return buf;
}
const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([s, m]) => mutate(s, m));
const encoded = fc.tuple(mutated, fc.constantFrom('utf16le', 'utf16be-bom', 'bom8')).map(([b, enc]) => {
  const text = b.toString('utf8');
  if (enc === 'bom8') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
  const le = Buffer.from(text, 'utf16le');
  if (enc === 'utf16le') return le;
  for (let i = 0; i + 1 < le.length; i += 2) {
    const a = le[i]!;
    le[i] = le[i + 1]!;
    le[i + 1] = a;
  }
  return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
});

describe('property: no input crashes the parser or pollutes prototypes', () => {
  it('≥ 10,000 random, mutated and re-encoded documents either parse or fail with E_XML_INVALID / E_PROFILE_INVALID', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    let runs = 0;
    let valid = 0;
    const start = performance.now();
    fc.assert(
      fc.property(
        fc.oneof(
          { arbitrary: mutated, weight: 6 },
          { arbitrary: generated, weight: 3 },
          { arbitrary: encoded, weight: 1 },
        ),
        (bytes) => {
          runs += 1;
          try {
            const parsed = parseAnyDocument(bytes, { file: 'fuzz.xml' });
            valid += 1;
            // Results must always be serialisable for --json.
            JSON.stringify(parsed);
          } catch (err) {
            if (!isTandemError(err, 'E_XML_INVALID') && !isTandemError(err, 'E_PROFILE_INVALID')) throw err;
            const d = err.details as { line: unknown; column: unknown };
            if (typeof d.line !== 'number' || typeof d.column !== 'number')
              throw new Error('error without position details', { cause: err });
          }
          if (({} as Record<string, unknown>)['polluted'] !== undefined) throw new Error('Object.prototype polluted');
        },
      ),
      { numRuns: 12_000, seed: 20261123 },
    );
    const elapsed = performance.now() - start;
    expect(runs).toBeGreaterThanOrEqual(10_000);
    expect(valid).toBeGreaterThan(100); // the generators must also reach the typed readers
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(elapsed).toBeLessThan(20_000);
    console.log(
      `property test: ${runs} documents (${valid} parsed, ${runs - valid} refused) in ${Math.round(elapsed)} ms`,
    );
  });
});
