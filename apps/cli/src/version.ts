/**
 * The CLI's version, read from its package.json. src/, dist/ and bundle/ all sit directly
 * below apps/cli, so one relative URL serves the sources, the compiled tree and the bundle.
 */
import { readFileSync } from 'node:fs';

/** `version` of apps/cli/package.json ("0.0.0" when it has none). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
