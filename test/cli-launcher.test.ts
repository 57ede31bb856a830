/**
 * The `tandem` launcher (apps/cli/bin/tandem.js) picks bundle/main.js only while every input
 * recorded in bundle/inputs.json still has its recorded size and mtime: a changed input (content
 * or mtime alone) makes it warn once on stderr and run dist/main.js, a deleted input does not
 * count as changed, no manifest means dist/ without a word, TANDEM_NO_BUNDLE=1 forces dist/.
 * The cases run on a copy of the launcher in a temporary tree (other suites read the real
 * dist/ and bundle/ in parallel). A last test checks the real bundle/inputs.json against the
 * files it lists, so a build that skipped the bundling step is caught.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = join(ROOT, 'apps/cli/bin/tandem.js');
const REAL_BUNDLE = join(ROOT, 'apps/cli/bundle');

type Manifest = { note: string; inputs: Array<[string, number, number]> };

const trees: string[] = [];
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

/**
 * A miniature apps/cli: the real launcher, two entry points that say which one ran, and
 * dist/input.js (plus whatever `extra` names) recorded in bundle/inputs.json as the bundling
 * script records them (paths relative to bundle/).
 */
function tree(opts: { manifest?: boolean; extra?: string[] } = {}): { dir: string; input: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-launcher-'));
  trees.push(dir);
  for (const d of ['bin', 'bundle', 'dist']) mkdirSync(join(dir, d));
  // Outside the repository no package.json says "module", and the launcher is ESM.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  copyFileSync(LAUNCHER, join(dir, 'bin/tandem.js'));
  writeFileSync(join(dir, 'bundle/main.js'), "process.stdout.write('ran bundle\\n');\n");
  writeFileSync(join(dir, 'dist/main.js'), "process.stdout.write('ran dist\\n');\n");
  const input = join(dir, 'dist/input.js');
  writeFileSync(input, 'export const x = 1;\n');
  const files = ['dist/input.js', ...(opts.extra ?? [])];
  for (const f of opts.extra ?? []) writeFileSync(join(dir, f), `// ${f}\n`);
  if (opts.manifest !== false) {
    const inputs = files.map((f): [string, number, number] => {
      const st = statSync(join(dir, f));
      return [`../${f}`, st.size, st.mtimeMs];
    });
    const manifest: Manifest = { note: 'test tree', inputs };
    writeFileSync(join(dir, 'bundle/inputs.json'), JSON.stringify(manifest));
  }
  return { dir, input };
}

function run(dir: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const base = { ...process.env };
  // The outer environment must not decide the case under test.
  delete base['TANDEM_NO_BUNDLE'];
  const r = spawnSync(process.execPath, [join(dir, 'bin/tandem.js')], {
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('CLI launcher: bundle or dist', () => {
  it('every input unchanged: runs the bundle, says nothing', () => {
    const { dir } = tree({ extra: ['dist/other.js'] });
    expect(run(dir)).toEqual({ stdout: 'ran bundle\n', stderr: '', status: 0 });
  });

  it('an input whose content changed: runs dist/ with one warning naming the file', () => {
    const { dir, input } = tree();
    writeFileSync(input, 'export const x = 2; // edited after the bundle was built\n');
    const r = run(dir);
    expect(r.stdout).toBe('ran dist\n');
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    // The path is shown relative to the CLI directory, without the leading ../ of the manifest.
    expect(lines[0]).toMatch(/^tandem: bundle\/ is older than dist\/input\.js; running dist\//);
  });

  it('same size, only the mtime moved (a rebuild that wrote identical bytes): still dist/', () => {
    const { dir, input } = tree();
    const st = statSync(input);
    utimesSync(input, st.atime, new Date(st.mtimeMs + 5000));
    const r = run(dir);
    expect(r.stdout).toBe('ran dist\n');
    expect(r.stderr).toMatch(/older than dist\/input\.js/);
  });

  it('a change in a later input is found too: every input is checked, not only the first', () => {
    const { dir } = tree({ extra: ['dist/later.js'] });
    writeFileSync(join(dir, 'dist/later.js'), '// longer than before, so the size differs\n');
    const r = run(dir);
    expect(r.stdout).toBe('ran dist\n');
    expect(r.stderr).toMatch(/older than dist\/later\.js/);
  });

  it('a listed input that no longer exists does not count as changed: bundle', () => {
    const { dir } = tree({ extra: ['dist/gone.js'] });
    rmSync(join(dir, 'dist/gone.js'));
    expect(run(dir)).toEqual({ stdout: 'ran bundle\n', stderr: '', status: 0 });
  });

  it('no inputs.json (bundle never built): dist/ without a warning', () => {
    const { dir } = tree({ manifest: false });
    expect(run(dir)).toEqual({ stdout: 'ran dist\n', stderr: '', status: 0 });
  });

  it('TANDEM_NO_BUNDLE=1 forces dist/ even with a current bundle; other values do not', () => {
    const { dir } = tree();
    expect(run(dir, { TANDEM_NO_BUNDLE: '1' })).toEqual({ stdout: 'ran dist\n', stderr: '', status: 0 });
    expect(run(dir, { TANDEM_NO_BUNDLE: '0' }).stdout).toBe('ran bundle\n');
  });

  it('nothing to run: a one-line hint to build, exit 70', () => {
    const { dir } = tree({ manifest: false });
    rmSync(join(dir, 'dist/main.js'));
    const r = run(dir);
    expect(r.status).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^tandem: cannot start \(.*\); run "npm run build" first\n$/);
  });
});

const noBundle = existsSync(join(REAL_BUNDLE, 'inputs.json'))
  ? null
  : 'apps/cli/bundle/inputs.json does not exist (run npm run build)';

describe.skipIf(noBundle !== null)(
  `the built bundle matches the files it was built from${noBundle ? ` [skipped: ${noBundle}]` : ''}`,
  () => {
    it('every input listed in apps/cli/bundle/inputs.json exists with the recorded size and mtime', () => {
      const manifest = JSON.parse(readFileSync(join(REAL_BUNDLE, 'inputs.json'), 'utf8')) as Manifest;
      // Our own compiled CLI must be among the inputs, else the manifest checks nothing that matters.
      expect(manifest.inputs.some(([p]) => p === '../dist/main.js')).toBe(true);
      const stale = manifest.inputs.flatMap(([p, size, mtimeMs]) => {
        const st = statSync(join(REAL_BUNDLE, p), { throwIfNoEntry: false });
        if (!st) return [`${p}: missing`];
        return st.size === size && st.mtimeMs === mtimeMs
          ? []
          : [`${p}: size ${st.size} (recorded ${size}), mtime ${st.mtimeMs} (recorded ${mtimeMs})`];
      });
      expect(stale, 'the bundle is older than these inputs; npm run build refreshes it').toEqual([]);
    });
  },
);
