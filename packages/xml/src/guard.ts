/**
 * Checks that run on the raw bytes and decoded text before any XML tokenizing: the size cap,
 * DTD refusal and the character set. Rejecting every `<!DOCTYPE` / `<!ENTITY` outright (even
 * inside comments, even in lower case) is deliberate: neither profiles nor gateway documents
 * need a DTD, and refusing the construct removes entity expansion and external fetches as a
 * class.
 */
import { invalidXml } from './error.js';
import { LineIndex } from './positions.js';

/** Throws E_XML_INVALID when `size` exceeds `maxBytes`. */
export function checkSize(size: number, maxBytes: number, source: string): void {
  if (size > maxBytes) {
    throw invalidXml(source, 0, 0, `document is ${size} bytes; the limit is ${maxBytes} bytes`);
  }
}

const DTD_PATTERN = /<!\s*(doctype|entity|element|attlist|notation)/i;

/**
 * Normalises line ends (CRLF and lone CR → LF, as XML 1.0 §2.11 requires, so positions are
 * per logical line) and refuses DTD constructs and characters XML 1.0 forbids.
 */
export function guardText(text: string, source: string): string {
  const normalised = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  const dtd = DTD_PATTERN.exec(normalised);
  if (dtd) {
    const pos = new LineIndex(normalised).at(dtd.index);
    const kind = (dtd[1] ?? '').toUpperCase();
    throw invalidXml(source, pos.line, pos.column, `<!${kind} is not allowed (DTDs and entities are refused)`);
  }
  for (let i = 0; i < normalised.length; i++) {
    const c = normalised.charCodeAt(i);
    let bad = false;
    if (c < 0x20) bad = c !== 0x09 && c !== 0x0a;
    else if (c === 0xfffe || c === 0xffff) bad = true;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const n = normalised.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) i += 1;
      else bad = true;
    } else if (c >= 0xdc00 && c <= 0xdfff) bad = true;
    if (bad) {
      const pos = new LineIndex(normalised).at(i);
      throw invalidXml(
        source,
        pos.line,
        pos.column,
        `character U+${c.toString(16).padStart(4, '0').toUpperCase()} is not allowed in XML`,
      );
    }
  }
  return normalised;
}
