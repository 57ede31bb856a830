/**
 * vpnc-script + journal in a client namespace: split-tunnel connect/disconnect leaves the
 * namespace byte-identical; a full-tunnel session SIGKILL'd at several points reproduces
 * openconnect's failure (no default route, dead DNS) and recover() restores the snapshot.
 *
 * Safety: the script and recover() run only in child processes started with `ip netns exec`
 * in the lab's client namespace, and each child first checks (guard.mjs) that /etc/resolv.conf
 * is that namespace's bind-mounted private copy; otherwise it exits before doing anything.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { missing, titled, which } from '@tandem/testkit';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}packages/tunnel/dist/index.js`;
const child = `${root}test/fixtures/tunnel/netcfg-child.mjs`;
const recoverFixture = `${root}test/fixtures/tunnel/recover.mjs`;
const SCRIPT = '/usr/share/vpnc-scripts/vpnc-script';
const reason =
  missing('netns') ??
  (existsSync(SCRIPT) ? null : 'needs vpnc-scripts (apt-get install vpnc-scripts)') ??
  (which('ip') ? null : 'needs iproute2');

type Line = Record<string, unknown> & { stage: string };

function waitForStage(proc: ChildProcess, stage: string, timeoutMs = 20_000): Promise<Line> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${stage}`)), timeoutMs);
    rl.on('line', (l) => {
      const msg = JSON.parse(l) as Line;
      if (msg.stage === 'guard-failed') reject(new Error(`guard failed: ${l}`));
      if (msg.stage === stage) {
        clearTimeout(timer);
        rl.close();
        resolve(msg);
      }
    });
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before ${stage}`)));
  });
}

describe.skipIf(reason !== null)(titled('tunnel: vpnc-script, journal and recover in a netns', reason), () => {
  const lab = new NetnsLab('ttn', [233, 1]);
  let journalDir = '';
  const timings: Record<string, number[]> = {};
  // Child pids: if a test fails before recover(), vpnc-script's per-pid files would stay in the
  // host's /var/run/vpnc, so afterAll removes them.
  const pids: number[] = [];
  const note = (k: string, v: number): void => void (timings[k] ??= []).push(Math.round(v * 10) / 10);

  const base = {
    gateway: '10.233.1.1',
    ipv4: { address: '10.233.70.5' },
    dns: ['10.233.9.53'],
    domains: ['corp.lab.test'],
    mtu: 1400,
    banner: 'Tandem lab: authorised use only',
    idleTimeout: 1200,
  };
  const split = { ...base, splitInclude: ['10.233.50.0/24', '10.233.51.0/255.255.255.0'] };

  const linkGone = async (name: string): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      try {
        await lab.exec(lab.cli, 'ip', ['link', 'show', name]);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${name} still exists`);
  };

  beforeAll(async () => {
    execFileSync(`${root}node_modules/.bin/tsc`, ['-b', 'packages/tunnel'], { cwd: root, stdio: 'inherit' });
    await lab.create();
    // IPv6 duplicate address detection on the fresh veth changes addresses and local routes for
    // about a second; let it settle so snapshots only differ by what the tests do.
    for (let i = 0; i < 100 && (await lab.exec(lab.cli, 'ip', ['-6', '-o', 'addr'])).includes('tentative'); i++)
      await new Promise((r) => setTimeout(r, 50));
    journalDir = mkdtempSync(join(tmpdir(), 'ttn-journal-'));
  });
  afterAll(async () => {
    console.log(`[tunnel] timings ms ${JSON.stringify(timings)}`);
    for (const pid of pids)
      for (const f of ['defaultroute', 'defaultroute_ipv6', 'resolv.conf-backup'])
        rmSync(`/var/run/vpnc/${f}.${pid}`, { force: true });
    await lab.destroy();
    rmSync(journalDir, { recursive: true, force: true });
  });

  it('refuses to run anywhere but the lab namespace (guard)', () => {
    // Same fixture, run in the host namespace: it must exit 3 before importing the package.
    let code = 0;
    try {
      execFileSync(
        process.execPath,
        [child, JSON.stringify({ dist, ns: lab.cli, journalDir, tun: 'ttn1', config: split })],
        { stdio: 'pipe' },
      );
    } catch (err) {
      code = (err as { status: number }).status;
    }
    expect(code).toBe(3);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('split tunnel: exactly the split routes via the TUN, VPN DNS, then an identical namespace after disconnect', async () => {
    const before = await lab.snapshot();
    const out = await lab.exec(lab.cli, process.execPath, [
      child,
      JSON.stringify({ dist, ns: lab.cli, journalDir, tun: 'ttn1', config: split }),
    ]);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    const connect = lines.find((l) => l.stage === 'connect') as Line & { routes: string[]; resolv: string; ms: number };
    const done = lines.find((l) => l.stage === 'disconnected') as Line & {
      timings: Record<string, number>;
      report: { repair: { failures: string[]; routesRestored: string[]; routesDeleted: string[] } };
    };
    const viaTun = connect.routes.filter((r) => / dev ttn1( |$)/.test(r) && !r.includes('proto kernel'));
    expect(viaTun.map((r) => r.split(' ')[0]).sort()).toEqual(['10.233.50.0/24', '10.233.51.0/24']);
    expect(connect.routes).toContain('default via 10.233.1.1 dev ttn-vc');
    expect(connect.routes.filter((r) => r.startsWith('default'))).toHaveLength(1);
    expect(connect.resolv).toMatch(/^nameserver 10\.233\.9\.53$/m);
    expect(connect.resolv).toMatch(/^search .*corp\.lab\.test/m);
    expect(connect.resolv).not.toContain('192.0.2.53');
    // vpnc-script's own disconnect undid everything; our verification found nothing to repair.
    expect(done.report.repair.failures).toEqual([]);
    expect(done.report.repair.routesRestored).toEqual([]);
    await linkGone('ttn1');
    expect(await lab.snapshot()).toBe(before);
    expect(readdirSync(journalDir)).toEqual([]);
    note('pre-init', lines[0]!.ms as number);
    note('connect', connect.ms);
    note('disconnect', done.timings.disconnect!);
    note('verify+repair (clean)', done.timings.repair!);
  });

  for (const stopAt of ['pre-init', 'connect', 'transfer'] as const) {
    it(`full tunnel, SIGKILL after ${stopAt}: recover() restores the snapshot identically`, async () => {
      const before = await lab.snapshot();
      const proc = lab.spawn(lab.cli, process.execPath, [
        child,
        JSON.stringify({ dist, ns: lab.cli, journalDir, tun: 'ttn1', config: base, stopAt }),
      ]);
      const pre = await waitForStage(proc, 'pre-init');
      const pid = pre.pid as number;
      pids.push(pid);
      if (stopAt !== 'pre-init') {
        const connect = await waitForStage(proc, 'connect');
        expect(connect.routes).toContain('default dev ttn1 scope link');
        if (stopAt === 'transfer') await waitForStage(proc, 'transfer');
      }
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      expect(readdirSync(journalDir)).toEqual([`session-${pid}.json`]);
      if (stopAt !== 'pre-init') {
        await linkGone('ttn1');
        // openconnect's failure mode, reproduced: no default route at all, resolv.conf on the dead VPN DNS.
        expect((await lab.exec(lab.cli, 'ip', ['-4', 'route', 'show', 'default'])).trim()).toBe('');
        expect(await lab.exec(lab.cli, 'cat', ['/etc/resolv.conf'])).toMatch(/^nameserver 10\.233\.9\.53$/m);
        expect(existsSync(`/var/run/vpnc/defaultroute.${pid}`)).toBe(true);
      }
      const out = await lab.exec(lab.cli, process.execPath, [
        recoverFixture,
        JSON.stringify({ dist, ns: lab.cli, journalDir }),
      ]);
      const { first, second } = JSON.parse(out) as {
        first: {
          ms: number;
          journals: Array<{
            outcome: string;
            repair: { failures: string[]; routesRestored: string[]; resolvConfRestored: boolean };
          }>;
        };
        second: { journals: unknown[] };
      };
      expect(first.journals).toHaveLength(1);
      expect(first.journals[0]!.outcome).toBe('restored');
      expect(first.journals[0]!.repair.failures).toEqual([]);
      if (stopAt !== 'pre-init') {
        expect(first.journals[0]!.repair.routesRestored).toContain('4 default via 10.233.1.1 dev ttn-vc');
        expect(first.journals[0]!.repair.resolvConfRestored).toBe(true);
      }
      expect(second.journals).toEqual([]);
      expect(readdirSync(journalDir)).toEqual([]);
      expect(existsSync(`/var/run/vpnc/defaultroute.${pid}`)).toBe(false);
      expect(existsSync(`/var/run/vpnc/resolv.conf-backup.${pid}`)).toBe(false);
      expect(await lab.snapshot()).toBe(before);
      note(`recover after ${stopAt}`, first.ms);
    });
  }
});
