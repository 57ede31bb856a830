/**
 * Hard resource caps applied to every document before and during parsing. They bound CPU and
 * memory for hostile input (a profile from an untrusted share, a gateway's answer); real
 * profiles and gateway documents are a few KiB with a nesting depth below 8.
 */

/** Caps for one document. All are inclusive maxima. */
export interface XmlLimits {
  /** Raw document size in bytes. */
  maxBytes: number;
  /** Element nesting depth (the root element is depth 1). */
  maxDepth: number;
  /** Total number of elements. */
  maxElements: number;
  /** Attributes on one element. */
  maxAttributes: number;
  /** Characters of text collected for one element. */
  maxTextLength: number;
}

/** The defaults: 1 MiB, depth 32, 10k elements, 32 attributes, 64 KiB text per element. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxElements: 10_000,
  maxAttributes: 32,
  maxTextLength: 64 * 1024,
});

/** Merges caller overrides onto {@link DEFAULT_XML_LIMITS}. */
export function resolveLimits(partial?: Partial<XmlLimits>): XmlLimits {
  return { ...DEFAULT_XML_LIMITS, ...(partial ?? {}) };
}
