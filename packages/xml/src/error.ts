/**
 * The single way this package refuses a document: a TandemError with code E_XML_INVALID whose
 * message starts with "source:line:column:" (like a compiler) and whose details carry the same
 * position for JSON output. Callers add their own meaning on top (a profile with the wrong root
 * element, a gateway answer that is not `<config-auth>`); they never rewrite this error.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** Builds the E_XML_INVALID error for `source` at a 1-based position (0 = no position). */
export function invalidXml(source: string, line: number, column: number, reason: string): TandemError {
  const where = line > 0 ? `${source}:${line}:${column}` : source;
  return new TandemError(ErrorCodes.XML_INVALID, `${where}: ${reason}`, {
    details: { source, line, column, reason },
  });
}
