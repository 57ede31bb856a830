/**
 * How this package refuses well-formed XML that is not a profile or local policy: a TandemError
 * with code E_PROFILE_INVALID whose message starts with "file:line:column:" (like a compiler)
 * and whose details carry the same position for JSON output. XML-level refusals come from
 * @tandem/xml as E_XML_INVALID with the same message and position shape.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** Builds the E_PROFILE_INVALID error for `file` at a 1-based position (0 = unknown). */
export function invalidProfile(file: string, line: number, column: number, reason: string): TandemError {
  const where = line > 0 ? `${file}:${line}:${column}` : file;
  return new TandemError(ErrorCodes.PROFILE_INVALID, `${where}: ${reason}`, {
    details: { file, line, column, reason },
  });
}
