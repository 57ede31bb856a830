/**
 * redaction-map.json: the user's key to the tokens of one bundle. It goes next to the archive,
 * readable by its owner only, and never inside it: the bundle is what gets shared, the map is
 * what lets the user answer "which gateway is host-3f9a1c2b?".
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { writeFileAtomic } from '@tandem/common/safe-fs';
import type { RedactionMap } from './tokens.js';

/** Where the map of the bundle at `bundlePath` goes: the same name with `.redaction-map.json`. */
export function redactionMapPath(bundlePath: string): string {
  return `${bundlePath.replace(/\.zip$/, '')}.redaction-map.json`;
}

/** Writes the map next to the bundle with mode 0600 and returns its path. */
export function writeRedactionMap(bundlePath: string, map: RedactionMap): string {
  const path = redactionMapPath(bundlePath);
  try {
    writeFileAtomic(path, `${JSON.stringify(map, null, 2)}\n`, 0o600);
  } catch (err) {
    throw new TandemError(ErrorCodes.DIAG_ARCHIVE, `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}
