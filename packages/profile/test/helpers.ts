import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Bytes of a fixture under test/fixtures. */
export function fixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

/** Absolute path of a fixture. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}
