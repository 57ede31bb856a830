/**
 * The guarded pipeline from bytes to an element tree. Its order is the security argument:
 * size cap on the raw bytes → strict decoding → DTD/character guard → bounded tokenizer.
 * Nothing downstream ever sees an unbounded or DTD-bearing document.
 */
import { decodeXmlBytes, type SourceEncoding } from './decode.js';
import { checkSize, guardText } from './guard.js';
import { resolveLimits, type XmlLimits } from './limits.js';
import { parseXmlTree, type XmlElement } from './tree.js';

/** Options for {@link readXml}. */
export interface ReadXmlOptions {
  /** Names the document in error messages and details (a file name, "gateway response"). */
  source: string;
  /** Overrides of {@link DEFAULT_XML_LIMITS}. */
  limits?: Partial<XmlLimits>;
}

/** A parsed document. */
export interface XmlDocument {
  root: XmlElement;
  /** The decoded text as sent (BOM removed, line ends untouched), for callers that echo a part verbatim. */
  text: string;
  encoding: SourceEncoding;
}

/**
 * Reads a document from its bytes. Throws a TandemError with code E_XML_INVALID (message
 * "source:line:column: reason", details {source, line, column, reason}) for anything that is
 * not well-formed, DTD-free XML within the caps.
 */
export function readXml(bytes: Buffer, opts: ReadXmlOptions): XmlDocument {
  const limits = resolveLimits(opts.limits);
  checkSize(bytes.length, limits.maxBytes, opts.source);
  const { text, encoding } = decodeXmlBytes(bytes, opts.source);
  const root = parseXmlTree(guardText(text, opts.source), opts.source, limits);
  return { root, text, encoding };
}
