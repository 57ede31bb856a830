/**
 * Typed value readers over the element tree. Each reader applies the leniency rules in
 * one place: booleans are case-insensitive, junk values and out-of-range numbers produce a
 * positioned warning and fall back to the default, and every unknown or repeated child is
 * reported instead of silently winning or losing.
 */
import type { Pref, ProfileWarning } from './model.js';
import type { XmlElement } from '@tandem/xml';

/** Collects warnings for one document. */
export class WarningSink {
  readonly warnings: ProfileWarning[] = [];

  /** Records a warning positioned at `at`. */
  add(at: { line: number; column: number }, kind: string, message: string): void {
    this.warnings.push({ line: at.line, column: at.column, kind, message });
  }
}

/**
 * The children of one container, indexed by local name. Unknown names are warned about when
 * the index is built; repeated names that are not declared repeatable keep the first one.
 */
export class Children {
  private readonly byName = new Map<string, XmlElement[]>();

  /**
   * @param known    local names the schema allows here
   * @param repeated names that may occur more than once
   * @param nonSchema names that are tolerated but not part of this element's schema
   *                  (the value is the reason shown in the warning)
   */
  constructor(
    readonly parent: XmlElement,
    known: ReadonlySet<string>,
    readonly sink: WarningSink,
    repeated: ReadonlySet<string> = new Set(),
    nonSchema: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const child of parent.children) {
      const reason = nonSchema.get(child.local);
      if (reason !== undefined) {
        sink.add(child, 'non-schema-element', `<${child.local}> is not part of <${parent.local}>: ${reason}`);
      } else if (!known.has(child.local)) {
        sink.add(child, 'unknown-element', `unknown element <${child.local}> inside <${parent.local}> ignored`);
        continue;
      }
      const list = this.byName.get(child.local);
      if (list) {
        if (!repeated.has(child.local)) {
          sink.add(
            child,
            'duplicate-element',
            `<${child.local}> repeated; the first one (line ${list[0]?.line}) is used`,
          );
          continue;
        }
        list.push(child);
      } else {
        this.byName.set(child.local, [child]);
      }
    }
  }

  /** The first child with this local name. */
  one(name: string): XmlElement | undefined {
    return this.byName.get(name)?.[0];
  }

  /** All children with this local name, in document order. */
  all(name: string): XmlElement[] {
    return this.byName.get(name) ?? [];
  }
}

/** Parses a boolean case-insensitively; undefined for anything else. */
export function parseBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return undefined;
}

/** Reads the `UserControllable` attribute, warning on junk. */
function userControllable(el: XmlElement | undefined, fallback: boolean, sink: WarningSink): boolean {
  const attr = el?.attributes.get('UserControllable');
  if (!attr) return fallback;
  const v = parseBool(attr.value.trim());
  if (v === undefined) {
    sink.add(attr, 'bad-boolean', `UserControllable="${attr.value}" is not true/false; using ${fallback}`);
    return fallback;
  }
  return v;
}

function withUc<T>(pref: Pref<T>, el: XmlElement | undefined, uc: boolean | undefined, sink: WarningSink): Pref<T> {
  if (uc !== undefined) pref.userControllable = userControllable(el, uc, sink);
  return pref;
}

/** A boolean preference; `uc` is the element's UserControllable default when it has one. */
export function boolPref(el: XmlElement | undefined, def: boolean, sink: WarningSink, uc?: boolean): Pref<boolean> {
  let pref: Pref<boolean> = { value: def, source: 'default' };
  if (el) {
    const v = parseBool(el.text);
    if (v === undefined)
      sink.add(el, 'bad-boolean', `<${el.local}> value "${clip(el.text)}" is not true/false; using default ${def}`);
    else pref = { value: v, source: 'file' };
  }
  return withUc(pref, el, uc, sink);
}

/** A plain boolean (no provenance needed). */
export function boolValue(el: XmlElement | undefined, def: boolean, sink: WarningSink): boolean {
  return boolPref(el, def, sink).value;
}

/** An enumerated preference matched case-insensitively and returned in canonical spelling. */
export function enumPref<T extends string>(
  el: XmlElement | undefined,
  allowed: readonly T[],
  def: T,
  sink: WarningSink,
  uc?: boolean,
): Pref<T> {
  let pref: Pref<T> = { value: def, source: 'default' };
  if (el) {
    const hit = allowed.find((a) => a.toLowerCase() === el.text.toLowerCase());
    if (hit === undefined) {
      sink.add(
        el,
        'bad-value',
        `<${el.local}> value "${clip(el.text)}" is not one of ${allowed.join(', ')}; using default ${def}`,
      );
    } else {
      pref = { value: hit, source: 'file' };
    }
  }
  return withUc(pref, el, uc, sink);
}

/** An integer preference within [min, max]; junk or out-of-range values warn and use `def`. */
export function intPref(
  el: XmlElement | undefined,
  min: number,
  max: number,
  def: number,
  sink: WarningSink,
): Pref<number> {
  if (!el) return { value: def, source: 'default' };
  const n = /^[+]?[0-9]{1,9}$/.test(el.text) ? Number(el.text) : NaN;
  if (Number.isNaN(n)) {
    sink.add(el, 'bad-number', `<${el.local}> value "${clip(el.text)}" is not an integer; using default ${def}`);
    return { value: def, source: 'default' };
  }
  if (n < min || n > max) {
    sink.add(el, 'out-of-range', `<${el.local}> value ${n} is outside ${min}–${max}; using default ${def}`);
    return { value: def, source: 'default' };
  }
  return { value: n, source: 'file' };
}

/** A free-text preference (trimmed); `def` when absent. */
export function stringPref(el: XmlElement | undefined, def: string, sink: WarningSink, uc?: boolean): Pref<string> {
  const pref: Pref<string> = el ? { value: el.text, source: 'file' } : { value: def, source: 'default' };
  return withUc(pref, el, uc, sink);
}

/** Splits a comma-separated list, dropping blanks. */
export function commaList(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Shortens untrusted text for messages. */
export function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine;
}
