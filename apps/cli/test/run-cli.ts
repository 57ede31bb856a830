import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tandem.js', import.meta.url));

/** Builds apps/cli (and what it references) when dist/ is missing, e.g. under a bare `vitest run`. */
export function ensureBuilt(): void {
  if (existsSync(fileURLToPath(new URL('../dist/main.js', import.meta.url)))) return;
  // --force: a stale tsbuildinfo would otherwise make tsc think the deleted dist/ is current.
  execFileSync('npx', ['tsc', '-b', '--force', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
}

/** Runs the built `tandem` binary with an argument array. */
export function tandem(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
