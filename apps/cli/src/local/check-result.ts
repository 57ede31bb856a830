/**
 * The per-file result of `tandem profile check`, shared by the command and its renderer; it is
 * also the element type of the `--json` array (documented in packages/profile/README.md).
 */
import type { AnyParsedDocument, ProfileWarning } from '@tandem/profile';

/** One error of a file in the JSON report; line/column are null when not positional. */
export interface CheckError {
  line: number | null;
  column: number | null;
  message: string;
  code: string;
}

/** One element of the `--json` array (documented in packages/profile/README.md). */
export interface CheckResult {
  file: string;
  valid: boolean;
  kind: 'vpn' | 'local-policy' | null;
  errors: CheckError[];
  warnings: ProfileWarning[];
  profile: AnyParsedDocument['document'] | null;
}
