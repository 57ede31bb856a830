/**
 * @tandem/xml — the guarded XML reader shared by profiles (@tandem/profile) and gateway
 * documents (@tandem/anyconnect): strict decoding, no DTDs, bounded size, depth, element count
 * and text, a line and column on every element and on every refusal (E_XML_INVALID).
 * Imports nothing but @tandem/common.
 */
export { readXml, type ReadXmlOptions, type XmlDocument } from './read.js';
export { DEFAULT_XML_LIMITS, type XmlLimits } from './limits.js';
export { invalidXml } from './error.js';
export type { XmlAttribute, XmlElement } from './tree.js';
export type { SourceEncoding } from './decode.js';
