/**
 * A small, strict, non-recursive XML 1.0 tokenizer that builds an element tree with a line and
 * column for every element and attribute.
 *
 * Why our own instead of a general-purpose parser: profile warnings must point at lines, the
 * general parsers we could use either drop positions or expand entities by default, and a
 * linear loop with explicit counters makes the resource bounds obvious. Depth, element count,
 * attribute count and text length are checked as tokens arrive, so a 100k-deep document fails
 * at depth 33 after reading a few hundred bytes. Only the five predefined entities and bounded
 * numeric character references are understood; DTDs are refused earlier by guard.ts.
 * Attribute and child collections are Maps/arrays, never plain objects keyed by document
 * names, so `__proto__`-named elements are just names.
 */
import { invalidXml } from './error.js';
import type { XmlLimits } from './limits.js';
import { LineIndex } from './positions.js';

/** One attribute, stored by its local name. */
export interface XmlAttribute {
  name: string;
  value: string;
  line: number;
  column: number;
}

/** One element of the tree. */
export interface XmlElement {
  /** The name as written, e.g. `xsi:schemaLocation` or `HostEntry`. */
  name: string;
  /** The name without its prefix; the parser matches on this. */
  local: string;
  /** Namespace URI in scope for the element, or null (none, or an undeclared prefix). */
  namespace: string | null;
  attributes: Map<string, XmlAttribute>;
  children: XmlElement[];
  /** First non-blank text segment, trimmed ("" when there is none). */
  text: string;
  line: number;
  column: number;
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][\w.\-:\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\n]*/y;
const ATTR_VALUE = /"([^"<]*)"|'([^'<]*)'/y;
const PREDEFINED = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

interface OpenElement {
  el: XmlElement;
  scope: Map<string, string>;
  textLength: number;
  /** Text of the current text node (between markup), not yet committed. */
  pending: string;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

class Tokenizer {
  private i = 0;
  private readonly lines: LineIndex;
  private readonly stack: OpenElement[] = [];
  private root: XmlElement | null = null;
  private elementCount = 0;

  constructor(
    private readonly src: string,
    private readonly source: string,
    private readonly limits: XmlLimits,
  ) {
    this.lines = new LineIndex(src);
  }

  private fail(offset: number, reason: string): never {
    const pos = this.lines.at(offset);
    throw invalidXml(this.source, pos.line, pos.column, reason);
  }

  private readName(what: string): string {
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.src);
    if (!m) this.fail(this.i, `expected ${what} name`);
    this.i = NAME.lastIndex;
    return m[0];
  }

  private skipSpace(): boolean {
    SPACE.lastIndex = this.i;
    SPACE.exec(this.src);
    const moved = SPACE.lastIndex > this.i;
    this.i = SPACE.lastIndex;
    return moved;
  }

  /** Replaces entity and character references; `start` is the offset of `raw` for errors. */
  private decodeRefs(raw: string, start: number): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', from)) {
      out += raw.slice(from, amp);
      const semi = raw.indexOf(';', amp);
      // The longest legal reference is `&#x10FFFF;` (10 chars); anything longer is refused.
      if (semi === -1 || semi - amp > 10) this.fail(start + amp, "'&' must start an entity reference such as &amp;");
      const ref = raw.slice(amp + 1, semi);
      const named = PREDEFINED.get(ref);
      if (named !== undefined) out += named;
      else if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9a-fA-F]{1,6}$/.test(ref)) {
        const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        if (!isXmlChar(cp)) this.fail(start + amp, `character reference &${ref}; is not a legal XML character`);
        out += String.fromCodePoint(cp);
      } else {
        this.fail(
          start + amp,
          `undefined entity &${ref.slice(0, 20)}; (only &lt; &gt; &amp; &quot; &apos; and numeric references are allowed)`,
        );
      }
      from = semi + 1;
    }
    return out + raw.slice(from);
  }

  private addText(raw: string, start: number, isCdata: boolean): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (isCdata || raw.trim() !== '') {
        this.fail(start + (raw.length - raw.trimStart().length), 'text outside the root element');
      }
      return;
    }
    const text = isCdata ? raw : this.decodeRefs(raw, start);
    top.textLength += text.length;
    if (top.textLength > this.limits.maxTextLength) {
      this.fail(start, `text of <${top.el.name}> exceeds ${this.limits.maxTextLength} characters`);
    }
    if (top.el.text === '') top.pending += text;
  }

  /** Ends the current text node: the first non-blank one becomes the element's value. */
  private commitText(): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) return;
    if (top.el.text === '' && top.pending.trim() !== '') top.el.text = top.pending.trim();
    top.pending = '';
  }

  private startTag(lt: number): void {
    this.commitText();
    this.i = lt + 1;
    const name = this.readName('element');
    if (this.root && this.stack.length === 0) this.fail(lt, `a second root element <${name}> is not allowed`);
    const depth = this.stack.length + 1;
    if (depth > this.limits.maxDepth) this.fail(lt, `elements nested deeper than ${this.limits.maxDepth} levels`);
    if (++this.elementCount > this.limits.maxElements) this.fail(lt, `more than ${this.limits.maxElements} elements`);
    const raw: Array<{ name: string; value: string; offset: number }> = [];
    const seen = new Set<string>();
    let selfClosing = false;
    for (;;) {
      const hadSpace = this.skipSpace();
      const c = this.src[this.i];
      if (c === '>') {
        this.i += 1;
        break;
      }
      if (c === '/' && this.src[this.i + 1] === '>') {
        this.i += 2;
        selfClosing = true;
        break;
      }
      if (c === undefined) this.fail(lt, `unterminated start tag <${name}>`);
      if (!hadSpace) this.fail(this.i, `expected whitespace, '>' or '/>' in <${name}>`);
      const attrOffset = this.i;
      const attrName = this.readName('attribute');
      if (seen.has(attrName)) this.fail(attrOffset, `duplicate attribute ${attrName} on <${name}>`);
      seen.add(attrName);
      if (raw.length >= this.limits.maxAttributes)
        this.fail(attrOffset, `more than ${this.limits.maxAttributes} attributes on <${name}>`);
      this.skipSpace();
      if (this.src[this.i] !== '=') this.fail(this.i, `expected '=' after attribute ${attrName}`);
      this.i += 1;
      this.skipSpace();
      ATTR_VALUE.lastIndex = this.i;
      const m = ATTR_VALUE.exec(this.src);
      if (!m) this.fail(this.i, `attribute ${attrName} needs a quoted value without '<'`);
      const valueRaw = m[1] ?? m[2] ?? '';
      const value = this.decodeRefs(valueRaw, this.i + 1).replace(/[\t\n]/g, ' ');
      this.i = ATTR_VALUE.lastIndex;
      raw.push({ name: attrName, value, offset: attrOffset });
    }
    const parent = this.stack[this.stack.length - 1];
    const inherited = parent?.scope ?? new Map<string, string>();
    let scope = inherited;
    const attributes = new Map<string, XmlAttribute>();
    for (const a of raw) {
      if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) {
        // Copy on first declaration only, so undeclared scopes stay shared with the parent.
        if (scope === inherited) scope = new Map(inherited);
        scope.set(a.name === 'xmlns' ? '' : a.name.slice(6), a.value);
        continue;
      }
      const pos = this.lines.at(a.offset);
      const local = a.name.includes(':') ? a.name.slice(a.name.indexOf(':') + 1) : a.name;
      attributes.set(local, { name: a.name, value: a.value, line: pos.line, column: pos.column });
    }
    const colon = name.indexOf(':');
    const prefix = colon === -1 ? '' : name.slice(0, colon);
    const pos = this.lines.at(lt);
    const el: XmlElement = {
      name,
      local: colon === -1 ? name : name.slice(colon + 1),
      namespace: scope.get(prefix) || null,
      attributes,
      children: [],
      text: '',
      line: pos.line,
      column: pos.column,
    };
    if (parent) parent.el.children.push(el);
    else this.root = el;
    if (!selfClosing) this.stack.push({ el, scope, textLength: 0, pending: '' });
  }

  private endTag(lt: number): void {
    this.commitText();
    this.i = lt + 2;
    const name = this.readName('element');
    this.skipSpace();
    if (this.src[this.i] !== '>') this.fail(this.i, `expected '>' to close </${name}>`);
    this.i += 1;
    const top = this.stack.pop();
    if (!top) this.fail(lt, `unexpected end tag </${name}>`);
    if (top.el.name !== name) {
      this.fail(
        lt,
        `end tag </${name}> does not match <${top.el.name}> opened at line ${top.el.line}, column ${top.el.column}`,
      );
    }
  }

  private skipTo(marker: string, from: number, what: string, start: number): number {
    const end = this.src.indexOf(marker, from);
    if (end === -1) this.fail(start, `unterminated ${what}`);
    return end;
  }

  run(): XmlElement {
    const src = this.src;
    while (this.i < src.length) {
      const lt = src.indexOf('<', this.i);
      const textEnd = lt === -1 ? src.length : lt;
      if (textEnd > this.i) this.addText(src.slice(this.i, textEnd), this.i, false);
      if (lt === -1) break;
      if (src.startsWith('<!--', lt)) {
        this.commitText();
        this.i = this.skipTo('-->', lt + 4, 'comment', lt) + 3;
      } else if (src.startsWith('<![CDATA[', lt)) {
        const end = this.skipTo(']]>', lt + 9, 'CDATA section', lt);
        this.addText(src.slice(lt + 9, end), lt, true);
        this.i = end + 3;
      } else if (src.startsWith('<?', lt)) {
        this.commitText();
        this.i = lt + 2;
        const target = this.readName('processing instruction');
        if (target.toLowerCase() === 'xml' && lt !== 0)
          this.fail(lt, 'the XML declaration is only allowed at the very start');
        this.i = this.skipTo('?>', this.i, 'processing instruction', lt) + 2;
      } else if (src.startsWith('<!', lt)) {
        this.fail(lt, "unsupported '<!' markup");
      } else if (src[lt + 1] === '/') {
        this.endTag(lt);
      } else {
        this.startTag(lt);
      }
    }
    const open = this.stack[this.stack.length - 1];
    if (open) {
      this.fail(
        src.length,
        `unexpected end of document: <${open.el.name}> opened at line ${open.el.line}, column ${open.el.column} is not closed`,
      );
    }
    if (!this.root) this.fail(src.length, 'no root element');
    return this.root;
  }
}

/**
 * Parses guarded, newline-normalised text into an element tree. Throws E_XML_INVALID with
 * the position of the first well-formedness error or exceeded limit.
 */
export function parseXmlTree(text: string, source: string, limits: XmlLimits): XmlElement {
  return new Tokenizer(text, source, limits).run();
}
