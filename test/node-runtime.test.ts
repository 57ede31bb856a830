/**
 * Every process of the project runs on the Node pinned as the `node` devDependency, not on the
 * system's Node that runs npm itself: the test workers, the three launchers started by their
 * `#!/usr/bin/env node` line with the PATH npm scripts get, and children started as uid 65534
 * with a system PATH (setpriv, or spawn's uid option) the way the agent, CLI and demo tests do.
 */
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isRoot, missing, titled } from '@tandem/testkit';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  engines: { node: string };
};
const PINNED = manifest.devDependencies['node'] ?? '';
const LAUNCHERS = [
  'apps/cli/bin/tandem.js',
  'apps/agent/bin/tandemd.js',
  'apps/lab-gateway/bin/tandem-lab-gateway.js',
].map((p) => join(ROOT, p));
/** Makes any Node process report its version and flags on stderr before its own code runs. */
const REPORT = `--import=data:text/javascript,${encodeURIComponent("process.stderr.write('runtime ' + JSON.stringify([process.versions.node, process.execArgv]) + '\\n')")}`;

function reported(stderr: string): { version: string; execArgv: string[] } {
  const m = /^runtime (.*)$/m.exec(stderr);
  if (!m?.[1]) throw new Error(`the child did not report its runtime: ${stderr.slice(0, 500)}`);
  const [version, execArgv] = JSON.parse(m[1]) as [string, string[]];
  return { version, execArgv };
}

describe('the pinned Node runtime', () => {
  it('is an exact Node 24 version, and the engines field asks for 24', () => {
    expect(PINNED).toMatch(/^24\.\d+\.\d+$/);
    expect(manifest.engines.node).toBe('>=24');
  });

  it('runs this test worker (from node_modules/node, not the system Node)', () => {
    expect(process.versions.node).toBe(PINNED);
    expect(realpathSync(process.execPath)).toBe(realpathSync(join(ROOT, 'node_modules/node/bin/node')));
  });

  it('comes first in the PATH npm scripts get, so `env node` finds it', async () => {
    const { stdout } = await run('sh', ['-c', 'command -v node']);
    expect(realpathSync(stdout.trim())).toBe(realpathSync(process.execPath));
  });

  it('starts each launcher run by its #! line, with the shebang flags', async () => {
    for (const launcher of LAUNCHERS) {
      const r = await run(launcher, ['--help'], {
        env: { ...process.env, NODE_OPTIONS: REPORT },
        timeout: 20_000,
      }).catch((err: { stdout: string; stderr: string }) => err);
      const { version, execArgv } = reported(r.stderr);
      expect(version, launcher).toBe(PINNED);
      if (!launcher.endsWith('tandem-lab-gateway.js')) expect(execArgv, launcher).toContain('--use-openssl-ca');
    }
  });
});

describe(titled('the pinned Node as uid 65534 with a system PATH', missing('root', 'setpriv')), () => {
  const env = { PATH: '/usr/bin:/bin', HOME: '/nonexistent', NODE_OPTIONS: REPORT };

  it.skipIf(!isRoot)('through setpriv (as the agent MCA tests run tandem)', async () => {
    const r = await run(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, LAUNCHERS[0] as string, '--help'],
      { env, timeout: 20_000 },
    );
    expect(reported(r.stderr).version).toBe(PINNED);
  });

  it.skipIf(!isRoot)("through spawn's uid option (as the IPC client fixture and the demo run)", async () => {
    const r = await run(process.execPath, ['-e', 'process.stdout.write(String(process.getuid()))'], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
      env,
      timeout: 20_000,
    });
    expect(r.stdout).toBe('65534');
    expect(reported(r.stderr).version).toBe(PINNED);
  });
});
