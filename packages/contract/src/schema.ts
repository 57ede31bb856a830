/**
 * A tiny runtime schema kit: enough to validate every IPC message at ingress and to derive
 * the TypeScript types of the contract from the same declarations (`Infer<typeof s>`).
 *
 * Why not zod: the contract must stay dependency-free and auditable, and the agent needs only
 * a handful of shapes. Every string and array carries a maximum, and every schema knows the
 * longest JSON text a conforming value can have ({@link Schema.maxBytes}): the IPC layer derives
 * its frame caps from it, so a legal message always fits and nothing larger is buffered.
 */

/** Options for {@link validate}. */
export interface CheckOptions {
  /**
   * Accept object keys the schema does not declare. The agent validates requests strictly
   * (unknown keys are an error); a client reading results may accept keys added by a newer
   * minor version of the agent.
   */
  allowUnknownKeys?: boolean;
}

/** A runtime validator that also carries the static type `T` it accepts. */
export interface Schema<T> {
  /** Short description used in error messages and docs (`string`, `object`, …). */
  readonly kind: string;
  /** Returns `null` when `value` conforms, else a reason prefixed by the failing path. */
  readonly check: (value: unknown, path: string, opts: CheckOptions) => string | null;
  /**
   * The longest compact JSON encoding (UTF-8 bytes) of any value this schema accepts, counting
   * declared keys only. Strings count 6 bytes per UTF-16 unit (a `\u00XX` escape) unless they are
   * {@link token}s, whose characters JSON writes as they are.
   */
  readonly maxBytes: number;
  /** Phantom field that carries the type; never set at run time. */
  readonly __type?: T;
}

/** A schema marked optional: as an object field, the key may be absent. */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

/** The static type a schema accepts. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** The field declarations of an {@link object} schema. */
export type Shape = Record<string, Schema<unknown>>;

type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
/** The static type of an object built from `S`: optional schemas become optional keys. */
export type InferShape<S extends Shape> = Flatten<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
  }
>;

const where = (path: string): string => path || '(root)';
/** UTF-8 length of a value's JSON text. */
const utf8 = new TextEncoder();
const jsonBytes = (value: unknown): number => utf8.encode(JSON.stringify(value)).length;

/** Bytes of JSON a UTF-16 unit can take at worst: a control character becomes `\u00XX`. */
const ESCAPED_UNIT_BYTES = 6;
/** Characters JSON writes unchanged and UTF-8 stores in one byte: printable ASCII but `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A string of at most `max` UTF-16 units, optionally matching `pattern` (anchor it yourself). */
export function string(max: number, pattern?: RegExp): Schema<string> {
  return {
    kind: 'string',
    maxBytes: 2 + ESCAPED_UNIT_BYTES * max,
    check: (v, p) => {
      if (typeof v !== 'string') return `${where(p)}: expected a string`;
      if (v.length > max) return `${where(p)}: longer than ${max} characters`;
      if (pattern && !pattern.test(v)) return `${where(p)}: does not match ${pattern.source}`;
      return null;
    },
  };
}

/**
 * A string of at most `max` characters that match `pattern` and are all printable ASCII other
 * than `"` and `\` (hex, base64, timestamps, OIDs, file names): JSON writes each in one byte, so
 * its encoded size is known exactly and a frame cap can be derived from it.
 */
export function token(max: number, pattern: RegExp): Schema<string> {
  return {
    kind: 'string',
    maxBytes: 2 + max,
    check: (v, p) => {
      if (typeof v !== 'string') return `${where(p)}: expected a string`;
      if (v.length > max) return `${where(p)}: longer than ${max} characters`;
      if (!PLAIN.test(v) || !pattern.test(v)) return `${where(p)}: does not match ${pattern.source}`;
      return null;
    },
  };
}

/** Longest JSON text of a number: `-1.7976931348623157e+308` and `-2.2250738585072014e-308`. */
const NUMBER_BYTES = 24;

/** A finite number within [min, max]; `int` additionally requires a safe integer. */
export function number(opts: { min?: number; max?: number; int?: boolean } = {}): Schema<number> {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE, int = false } = opts;
  const intBytes = (n: number): number =>
    String(Math.trunc(Math.min(Math.max(n, Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER))).length;
  return {
    kind: int ? 'integer' : 'number',
    maxBytes: int ? Math.max(intBytes(min), intBytes(max)) : NUMBER_BYTES,
    check: (v, p) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${where(p)}: expected a finite number`;
      if (int && !Number.isSafeInteger(v)) return `${where(p)}: expected an integer`;
      if (v < min || v > max) return `${where(p)}: out of range [${min}, ${max}]`;
      return null;
    },
  };
}

/** `true` or `false`. */
export function boolean(): Schema<boolean> {
  return {
    kind: 'boolean',
    maxBytes: 5,
    check: (v, p) => (typeof v === 'boolean' ? null : `${where(p)}: expected a boolean`),
  };
}

/** Exactly the value `value`. */
export function literal<const L extends string | number | boolean>(value: L): Schema<L> {
  return {
    kind: `literal ${JSON.stringify(value)}`,
    maxBytes: jsonBytes(value),
    check: (v, p) => (v === value ? null : `${where(p)}: expected ${JSON.stringify(value)}`),
  };
}

/** One of the listed strings. */
export function enumOf<const E extends readonly string[]>(values: E): Schema<E[number]> {
  const allowed = new Set<unknown>(values);
  return {
    kind: `enum(${values.join('|')})`,
    maxBytes: Math.max(0, ...values.map(jsonBytes)),
    check: (v, p) => (allowed.has(v) ? null : `${where(p)}: expected one of ${values.join(', ')}`),
  };
}

/** An array of at most `max` items, each matching `item`. */
export function array<T>(item: Schema<T>, max: number): Schema<T[]> {
  return {
    kind: `array<${item.kind}>`,
    maxBytes: 2 + max * item.maxBytes + Math.max(0, max - 1),
    check: (v, p, o) => {
      if (!Array.isArray(v)) return `${where(p)}: expected an array`;
      if (v.length > max) return `${where(p)}: more than ${max} items`;
      for (let i = 0; i < v.length; i++) {
        const issue = item.check(v[i], `${p}[${i}]`, o);
        if (issue) return issue;
      }
      return null;
    },
  };
}

/** Marks a field optional (absent or `undefined`). */
export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    kind: `${inner.kind}?`,
    optional: true,
    maxBytes: inner.maxBytes,
    check: (v, p, o) => (v === undefined ? null : inner.check(v, p, o)),
  };
}

/** `null` or a value matching `inner`. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    kind: `${inner.kind}|null`,
    maxBytes: Math.max(4, inner.maxBytes),
    check: (v, p, o) => (v === null ? null : inner.check(v, p, o)),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A plain object with exactly the declared fields (see {@link CheckOptions.allowUnknownKeys}). */
export function object<S extends Shape>(shape: S): Schema<InferShape<S>> & { readonly shape: S } {
  const keys = Object.keys(shape);
  // `{` `}`, and per key: its quoted name, `:`, the value, and a comma between members.
  const members = keys.map((k) => jsonBytes(k) + 1 + shape[k]!.maxBytes);
  return {
    kind: 'object',
    maxBytes: 2 + members.reduce((a, b) => a + b, 0) + Math.max(0, keys.length - 1),
    shape,
    check: (v, p, o) => {
      if (!isPlainObject(v)) return `${where(p)}: expected an object`;
      if (!o.allowUnknownKeys) {
        for (const k of Object.keys(v)) {
          if (!Object.hasOwn(shape, k)) return `${where(p)}: unknown field ${JSON.stringify(k.slice(0, 64))}`;
        }
      }
      for (const k of keys) {
        const issue = shape[k]!.check(Object.hasOwn(v, k) ? v[k] : undefined, p ? `${p}.${k}` : k, o);
        if (issue) return issue;
      }
      return null;
    },
  };
}

const RECORD_KEY_MAX = 128;

/** A plain object used as a map: at most `maxKeys` keys of at most 128 characters, values matching `value`. */
export function record<T>(value: Schema<T>, maxKeys: number): Schema<Record<string, T>> {
  const member = 2 + ESCAPED_UNIT_BYTES * RECORD_KEY_MAX + 1 + value.maxBytes;
  return {
    kind: `record<${value.kind}>`,
    maxBytes: 2 + maxKeys * member + Math.max(0, maxKeys - 1),
    check: (v, p, o) => {
      if (!isPlainObject(v)) return `${where(p)}: expected an object`;
      const keys = Object.keys(v);
      if (keys.length > maxKeys) return `${where(p)}: more than ${maxKeys} keys`;
      for (const k of keys) {
        if (k.length > RECORD_KEY_MAX) return `${where(p)}: key longer than ${RECORD_KEY_MAX} characters`;
        const issue = value.check(v[k], p ? `${p}.${k}` : k, o);
        if (issue) return issue;
      }
      return null;
    },
  };
}

/** The static type of a {@link tagged} union: one object per member with the tag set. */
export type InferTagged<K extends string, M extends Record<string, Shape>> = {
  [T in keyof M & string]: Flatten<{ [P in K]: T } & InferShape<M[T]>>;
}[keyof M & string];

/** A discriminated union: `tag` selects which member shape the rest of the object must match. */
export function tagged<K extends string, M extends Record<string, Shape>>(
  tag: K,
  members: M,
): Schema<InferTagged<K, M>> {
  const built = new Map<unknown, Schema<unknown>>();
  for (const [name, shape] of Object.entries(members)) built.set(name, object({ ...shape, [tag]: literal(name) }));
  return {
    kind: `union on ${tag}`,
    maxBytes: Math.max(0, ...[...built.values()].map((m) => m.maxBytes)),
    check: (v, p, o) => {
      if (!isPlainObject(v)) return `${where(p)}: expected an object`;
      const member = built.get(v[tag]);
      if (!member) return `${where(p ? `${p}.${tag}` : tag)}: expected one of ${[...built.keys()].join(', ')}`;
      return member.check(v, p, o);
    },
  };
}

/** The outcome of {@link validate}. */
export type Validation<T> = { ok: true; value: T } | { ok: false; issue: string };

/** Checks `value` against `schema`; the value is returned unchanged (no coercion, no copies). */
export function validate<T>(schema: Schema<T>, value: unknown, opts: CheckOptions = {}): Validation<T> {
  const issue = schema.check(value, '', opts);
  return issue === null ? { ok: true, value: value as T } : { ok: false, issue };
}
