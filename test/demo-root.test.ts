/**
 * `node scripts/demo.mjs` as root: the whole story in namespaces (machine tunnel at agent start,
 * `tandem connect` as uid 65534 with MCA, `tandem disconnect`, machine tunnel back), narrated
 * milestones in order, under a minute, and no tdm-* namespace left afterwards.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const skip = missing('netns', 'ping', 'openssl');

const tdmNamespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('tdm-'));

function runDemo(): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/demo.mjs')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
}

describe.skipIf(skip !== null)(
  titled('npm run demo as root: machine tunnel → MCA user tunnel → machine tunnel', skip),
  () => {
    it('tells the whole story in order, exits 0 within a minute and leaves no namespace', async () => {
      const { code, out, err, ms } = await runDemo();
      const context = `${out}\n--- stderr ---\n${err}`;
      expect(code, context).toBe(0);
      expect(ms).toBeLessThan(60_000);
      const milestones = [
        'profile check: every shipped profile is valid',
        'Step 2: the lab',
        /machine tunnel connected \d+ ms after tandemd started/,
        /ping 10\.236\.110\.1 \(machine gateway, through the machine tunnel\) from tdm-pc: reply/,
        /alice\$ tandem connect 'Demo VPN'/,
        /"event":"session","username":"alice","authMode":"multiple-certificate"/,
        'gateway names user "alice" (from the second certificate',
        'machine tunnel is idle while the user tunnel runs',
        /ping 10\.236\.120\.1 \(MCA gateway, through the user tunnel\) from tdm-pc: reply/,
        /alice\$ tandem disconnect/,
        /machine tunnel connected again \d+ ms after/,
        /ping 10\.236\.110\.1 \(machine gateway, through the machine tunnel again\)/,
        /machine → user: \d+ ms without a tunnel/,
        /user → machine: \d+ ms without a tunnel/,
        'no watch line ever showed both tunnels connected',
        'no tdm-* namespace left; host routes and /etc/resolv.conf identical',
        'Demo finished',
      ];
      let from = 0;
      for (const m of milestones) {
        const rest = out.slice(from);
        const at = typeof m === 'string' ? rest.indexOf(m) : rest.search(m);
        expect(at, `milestone ${String(m)} missing or out of order\n${context}`).toBeGreaterThanOrEqual(0);
        from += at + 1;
      }
      expect(tdmNamespaces()).toEqual([]);
    }, 90_000);
  },
);
