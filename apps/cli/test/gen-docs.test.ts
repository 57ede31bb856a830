/**
 * scripts/package/gen-docs.mjs, the interface the .deb builder calls: `node gen-docs.mjs OUTDIR`
 * after the build writes the three pages and three completion scripts; a bad command line is
 * exit 2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './run-cli.js';

const script = join(repoRoot, 'scripts/package/gen-docs.mjs');
const out = mkdtempSync(join(tmpdir(), 'tandem-gen-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

beforeAll(() => {
  const built = ['apps/cli/dist/commands.js', 'apps/agent/dist/options.js', 'apps/lab-gateway/dist/options.js'].every(
    (file) => existsSync(join(repoRoot, file)),
  );
  // --force: a stale tsbuildinfo would otherwise make tsc think a deleted dist/ is current.
  if (!built)
    execFileSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-b',
        '--force',
        'apps/cli',
        'apps/agent',
        'apps/lab-gateway',
      ],
      {
        cwd: repoRoot,
        stdio: 'inherit',
        timeout: 300_000,
      },
    );
});

const gen = (...args: string[]) =>
  spawnSync(process.execPath, [script, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 4 << 20,
    env: { ...process.env, SOURCE_DATE_EPOCH: '1735689600' },
  });

describe('gen-docs.mjs OUTDIR', () => {
  it('writes tandem.1, tandemd.8, tandem-lab-gateway.1 and the bash, zsh and fish completions', () => {
    const r = gen(out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = ['tandem.1', 'tandemd.8', 'tandem-lab-gateway.1', 'bash/tandem', 'zsh/_tandem', 'fish/tandem.fish'];
    expect(r.stdout.trim().split('\n')).toEqual(files.map((f) => join(out, f)));
    const page = readFileSync(join(out, 'tandem.1'), 'utf8');
    expect(page).toContain('.TH TANDEM 1 2025-01-01 "Tandem ');
    expect(readFileSync(join(out, 'tandemd.8'), 'utf8')).toContain('.TH TANDEMD 8 2025-01-01');
    expect(readFileSync(join(out, 'bash/tandem'), 'utf8')).toContain('complete -F _tandem tandem');
    expect(readFileSync(join(out, 'zsh/_tandem'), 'utf8')).toMatch(/^#compdef tandem\n/);
    expect(readFileSync(join(out, 'fish/tandem.fish'), 'utf8')).toContain('complete -c tandem');
  });

  it('exits 2 without exactly one OUTDIR', () => {
    expect(gen().status).toBe(2);
    expect(gen(out, 'extra').status).toBe(2);
  });
});
