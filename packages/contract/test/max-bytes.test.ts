/**
 * `Schema.maxBytes`: the longest JSON a conforming value can have. Each combinator is checked
 * against a hand-built largest value (the bound is reached, so it is tight), and random
 * conforming values never exceed it — the IPC frame caps are derived from these numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  array,
  boolean,
  contract,
  enumOf,
  literal,
  nullable,
  number,
  object,
  optional,
  record,
  string,
  tagged,
  token,
  validate,
  type Schema,
} from '@tandem/contract';

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

/** Asserts `largest` conforms and its encoding is exactly the schema's bound. */
function reaches<T>(schema: Schema<T>, largest: T): void {
  expect(validate(schema, largest).ok).toBe(true);
  expect(bytes(largest)).toBe(schema.maxBytes);
}

describe('Schema.maxBytes', () => {
  it('is reached by the largest value of every combinator', () => {
    reaches(string(5), '\u0001'.repeat(5));
    reaches(token(8, /^[0-9a-f]*$/), 'ffffffff');
    reaches(number({ min: -5, max: 1000, int: true }), 1000);
    reaches(number({ min: -100_000, max: 10, int: true }), -100_000);
    reaches(number({ min: 0, int: true }), Number.MAX_SAFE_INTEGER);
    reaches(number(), -Number.MAX_VALUE);
    reaches(boolean(), false);
    reaches(literal('été'), 'été');
    reaches(enumOf(['a', 'bbb', 'cc'] as const), 'bbb');
    reaches(array(string(2), 3), ['\u0002\u0002', '\u0002\u0002', '\u0002\u0002']);
    reaches(nullable(boolean()), false);
    reaches(nullable(literal(1)), null);
    const O = object({ a: string(1), b: optional(array(boolean(), 2)) });
    reaches(O, { a: '\u0000', b: [false, false] });
    reaches(record(token(3, /^x*$/), 2), { ['\u0001'.repeat(128)]: 'xxx', ['\u0002'.repeat(128)]: 'xxx' });
    const T = tagged('kind', { short: { n: boolean() }, long: { text: string(10) } });
    reaches(T, { kind: 'long', text: '\u0003'.repeat(10) });
  });

  it('a token refuses what JSON would escape, so its bound of one byte per character holds', () => {
    const t = token(10, /^.*$/);
    for (const bad of ['a"b', 'a\\b', 'é', '\u0001', '\u{1F600}']) expect(validate(t, bad).ok).toBe(false);
    expect(validate(t, 'plain text').ok).toBe(true);
  });

  it('no conforming string, whatever its UTF-16 units, encodes longer than the bound', () => {
    const s = string(16);
    const units = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
    fc.assert(
      fc.property(fc.array(units, { maxLength: 16 }), (chars) => {
        const v = chars.join('');
        expect(bytes(v)).toBeLessThanOrEqual(s.maxBytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('the contract is bounded everywhere a client can write to the agent', () => {
    for (const spec of Object.values(contract.methods)) expect(spec.params.maxBytes).toBeLessThan(32 * 1024);
    const list = contract.reverse['certs.list'].result.maxBytes;
    expect(list).toBeGreaterThan(1024 * 1024);
    expect(list).toBeLessThan(8 * 1024 * 1024);
    expect(contract.reverse['certs.sign'].result.maxBytes).toBeLessThan(4096);
  });
});
