/**
 * `node scripts/demo.mjs` without root (as uid 65534): the demo says what the full story needs
 * and runs the steps that need no privileges — profile check, certificate selection with a
 * rejected decoy, and `tandem auth` with MCA against the lab gateway on loopback.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRoot, titled } from '@tandem/testkit';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
// Root is needed only to drop to another uid; as a normal user the demo takes this path anyway.
const skip = isRoot ? null : 'needs root to run the demo as uid 65534';

function runDemo(): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/demo.mjs')], {
      cwd: ROOT,
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe.skipIf(skip !== null)(titled('npm run demo without root (uid 65534)', skip), () => {
  it('explains the root requirement, then profile check, certs select and MCA auth succeed', async () => {
    const { code, out, err } = await runDemo();
    const context = `${out}\n--- stderr ---\n${err}`;
    expect(code, context).toBe(0);
    expect(out).toContain('profile check: every shipped profile is valid (exit 0)');
    expect(out).toMatch(/needs root: it creates network namespaces/);
    // certs select: alice from the demo CA chosen, the decoy from another CA rejected with the rule it broke.
    expect(out).toMatch(/rejected\s+\[user\] O=Home, OU=users, CN=alice/);
    expect(out).toContain("DN rule ISSUER-CN Equal 'Tandem Demo Issuing CA' not met");
    expect(out).toMatch(/Selected: \[user\] O=Tandem Demo, OU=users, CN=alice/);
    // tandem auth with MCA, and the gateway's own session line naming alice.
    expect(out).toMatch(/Authenticated to https:\/\/vpn\.demo\.test:\d+\/ with Multiple Certificate Authentication/);
    const session = out
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('{"event":"session"'));
    expect(session, context).toBeDefined();
    expect(JSON.parse(session!)).toMatchObject({
      username: 'alice',
      authMode: 'multiple-certificate',
      user: 'O=Tandem Demo, OU=users, CN=alice',
    });
    expect(out).toContain('removed everything the demo created');
    // Ordered milestones: the story reads top to bottom.
    const order = ['Step 1:', 'Step 2:', 'Step 3:', 'Step 4:', 'Demo finished'].map((m) => out.indexOf(m));
    expect(
      order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)),
      context,
    ).toBe(true);
  }, 60_000);
});
