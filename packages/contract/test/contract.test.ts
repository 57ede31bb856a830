/** The schema kit and the contract declaration. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ErrorCodes } from '@tandem/common';
import {
  API_VERSION,
  EVENT_NAMES,
  METHOD_NAMES,
  PERMISSIONS,
  REVERSE_NAMES,
  TunnelState,
  array,
  contract,
  enumOf,
  isMethodName,
  literal,
  nullable,
  number,
  object,
  optional,
  record,
  string,
  tagged,
  validate,
  type Infer,
  type ParamsOf,
  type ResultOf,
} from '@tandem/contract';

describe('schema kit', () => {
  const User = object({
    name: string(8),
    age: optional(number({ min: 0, max: 150, int: true })),
    tags: array(enumOf(['a', 'b'] as const), 2),
  });

  it('infers static types, with optional schemas as optional keys', () => {
    expectTypeOf<Infer<typeof User>>().toEqualTypeOf<{ name: string; tags: Array<'a' | 'b'>; age?: number }>();
    expectTypeOf<ParamsOf<'connect'>>().toEqualTypeOf<{ host?: string; url?: string }>();
    expectTypeOf<ResultOf<'hello'>['permissions']>().toEqualTypeOf<Array<'read' | 'control' | 'admin'>>();
    expectTypeOf<Extract<TunnelState, { state: 'error' }>['cause']['code']>().toEqualTypeOf<
      (typeof ErrorCodes)[keyof typeof ErrorCodes]
    >();
  });

  it('accepts conforming values and names the failing path otherwise', () => {
    expect(validate(User, { name: 'ann', tags: ['a'] })).toEqual({ ok: true, value: { name: 'ann', tags: ['a'] } });
    const cases: Array<[unknown, string]> = [
      [{ name: 'a'.repeat(9), tags: [] }, 'name: longer than 8 characters'],
      [{ name: 'x', tags: ['c'] }, 'tags[0]: expected one of a, b'],
      [{ name: 'x', tags: ['a', 'a', 'b'] }, 'tags: more than 2 items'],
      [{ name: 'x', tags: [], age: 1.5 }, 'age: expected an integer'],
      [{ name: 'x', tags: [], age: Number.NaN }, 'age: expected a finite number'],
      [{ name: 'x', tags: [], extra: 1 }, '(root): unknown field "extra"'],
      [[], '(root): expected an object'],
      [Object.create({ name: 'x', tags: [] }), '(root): expected an object'],
    ];
    for (const [value, issue] of cases) expect(validate(User, value)).toEqual({ ok: false, issue });
  });

  it('does not read inherited or prototype keys', () => {
    const o = JSON.parse('{"__proto__":{"name":"x"},"tags":[]}') as unknown;
    expect(validate(User, o).ok).toBe(false);
    expect(validate(object({}), JSON.parse('{"__proto__":1}'), { allowUnknownKeys: true }).ok).toBe(true);
  });

  it('tolerates unknown keys only when asked (results from a newer minor)', () => {
    expect(validate(User, { name: 'x', tags: [], newField: 1 }, { allowUnknownKeys: true }).ok).toBe(true);
  });

  it('covers literal, nullable, record and string patterns', () => {
    expect(validate(literal(true), true).ok).toBe(true);
    expect(validate(literal(true), 'true').ok).toBe(false);
    expect(validate(nullable(string(1)), null).ok).toBe(true);
    expect(validate(record(number(), 2), { a: 1, b: 2 }).ok).toBe(true);
    expect(validate(record(number(), 2), { a: 1, b: 2, c: 3 }).ok).toBe(false);
    expect(validate(string(10, /^[a-f]+$/), 'abc').ok).toBe(true);
    expect(validate(string(10, /^[a-f]+$/), 'xyz').ok).toBe(false);
  });

  it('discriminates tagged unions on the tag', () => {
    const S = tagged('kind', { a: { x: number() }, b: {} });
    expect(validate(S, { kind: 'a', x: 1 }).ok).toBe(true);
    expect(validate(S, { kind: 'b' }).ok).toBe(true);
    expect(validate(S, { kind: 'b', x: 1 })).toEqual({ ok: false, issue: '(root): unknown field "x"' });
    expect(validate(S, { kind: 'c' })).toEqual({ ok: false, issue: 'kind: expected one of a, b' });
  });
});

describe('the contract', () => {
  it('declares permission, params, result and doc for every method', () => {
    expect(METHOD_NAMES.length).toBeGreaterThanOrEqual(12);
    for (const name of METHOD_NAMES) {
      const m = contract.methods[name];
      expect(PERMISSIONS).toContain(m.perm);
      expect(m.doc.length).toBeGreaterThan(10);
      expect(typeof m.params.check).toBe('function');
      expect(typeof m.result.check).toBe('function');
    }
    for (const name of EVENT_NAMES) expect(PERMISSIONS).toContain(contract.events[name].perm);
    expect(REVERSE_NAMES).toEqual(['certs.choose', 'certs.list', 'certs.sign', 'prompt']);
  });

  it('keeps method names sorted in the declaration (diffs stay reviewable)', () => {
    expect(Object.keys(contract.methods)).toEqual(METHOD_NAMES);
  });

  it('reserves the machine tunnel and logs to admins and the log event too', () => {
    const admin = METHOD_NAMES.filter((m) => contract.methods[m].perm === 'admin');
    expect(admin).toEqual(['logs.tail', 'machineTunnel.disable', 'machineTunnel.enable']);
    expect(contract.events.log.perm).toBe('admin');
  });

  it('only recognises own method names', () => {
    expect(isMethodName('status')).toBe(true);
    for (const bad of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(isMethodName(bad)).toBe(false);
  });

  it('models tunnel failure as a state with a stable cause code', () => {
    const failed = {
      state: 'error',
      since: '2026-01-01T00:00:00Z',
      cause: { code: 'E_AUTH_REJECTED', message: 'bad cert', stage: 'mca' },
    };
    expect(validate(TunnelState, failed).ok).toBe(true);
    expect(validate(TunnelState, { ...failed, cause: { code: 'E_MADE_UP', message: 'x' } }).ok).toBe(false);
    expect(validate(TunnelState, { state: 'connected', gateway: 'g', since: 'yesterday' }).ok).toBe(false);
  });

  it('refuses a snapshot that carries a secret-looking extra field', () => {
    const idle = { tunnel: 'user', status: { state: 'idle' } };
    expect(validate(contract.methods.status.result, { machine: idle, user: idle }).ok).toBe(true);
    expect(validate(contract.methods.status.result, { machine: idle, user: { ...idle, cookie: 'webvpn=x' } }).ok).toBe(
      false,
    );
  });

  it('is API major 2: diagnostics.export is gone, the bundle methods carry their permissions', () => {
    expect(API_VERSION).toBe(2);
    expect(METHOD_NAMES).not.toContain('diagnostics.export');
    expect(contract.methods['diagnostics.collect'].perm).toBe('read');
    expect(contract.methods['diagnostics.read'].perm).toBe('read');
    expect(contract.methods['diagnostics.record'].perm).toBe('control');
    // The agent's answers stay far below what clients read (16 MiB): chunks of 1 MiB.
    expect(contract.methods['diagnostics.read'].result.maxBytes).toBeLessThan(2 * 1024 * 1024);
  });
});
