/**
 * `tandem diag bundle` against a real agent (issue 14's must-show): tandemd brings the machine
 * tunnel up to real ocserv in a network namespace; root builds a bundle (the administrators'
 * part included); then an UNPRIVILEGED user connects the MCA user tunnel and builds its own
 * bundle, which must hold nothing machine-only. Both archives are read by real tools (unzip,
 * Python's zipfile) and by `tandem diag inspect`; time and size are printed for the closing note.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBundle } from '@tandem/diagnostics';
import { missing, titled } from '@tandem/testkit';
import { NetnsLab } from './lib/netns.js';
import { agentArgs, ensureAgentBuilt, runClient, TANDEMD, zipEntries, type Scratch } from './fixtures/agent/helpers.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { NOBODY, startMcaLab, type McaLab } from './fixtures/agent/mca-lab.js';

const run = promisify(execFile);
const skip = missing('netns', 'ocserv', 'unzip', 'python3');
const CLI = join(import.meta.dirname, '..', 'apps/cli/bin/tandem.js');

type Status = { machine: { status: { state: string } }; user: { ownerUid?: number; status: { state: string } } };
type Built = { path: string; bundleId: string; size: number; ms: number; redactionMap: string; audience: string };

describe.skipIf(skip !== null)(titled('tandem diag bundle against a real agent (netns, ocserv)', skip), () => {
  const lab = new NetnsLab('tdb', [239, 9]);
  let m: McaLab;
  let s: Scratch;
  let userStore: string;
  let agentErr = '';
  let agent: ReturnType<NetnsLab['spawn']>;

  function tandem(args: string[], uid: number, cwd: string): Promise<{ code: number; out: string; err: string }> {
    const as = uid === 0 ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    return run('ip', ['netns', 'exec', lab.cli, ...as, process.execPath, CLI, ...args, '--socket', s.socket], {
      timeout: 60_000,
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );
  }

  async function status(): Promise<Status> {
    const r = await runClient(s.socket, { calls: [['status', {}]] });
    return r.results[0]!.result as Status;
  }

  async function waitFor(pred: (st: Status) => boolean, what: string, ms = 30_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const st = await status().catch(() => null);
      if (st && pred(st)) return;
      if (Date.now() - t0 > ms) throw new Error(`${what} not reached: ${JSON.stringify(st)}\n${agentErr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function check(built: Built): Promise<Record<string, string>> {
    expect(built.bundleId).toMatch(/^DIAG-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(built.path).toMatch(/\/tandem-diag-host-[0-9a-f]{8}-\d{8}T\d{6}Z\.zip$/);
    const unzip = await run('unzip', ['-t', built.path]);
    expect(unzip.stdout).toContain('No errors detected');
    const files = await zipEntries(built.path);
    const manifest = JSON.parse(files['manifest.json']!) as {
      bundle_id: string;
      files: Array<{ path: string; sha256: string; size: number }>;
    };
    expect(manifest.bundle_id).toBe(built.bundleId);
    for (const f of manifest.files) {
      const body = Buffer.from(files[f.path] ?? '', 'utf8');
      expect(body.length, f.path).toBe(f.size);
      expect(createHash('sha256').update(body).digest('hex'), f.path).toBe(f.sha256);
    }
    const report = await inspectBundle(built.path);
    expect(report.problems).toEqual([]);
    expect(statSync(built.redactionMap).mode & 0o777).toBe(0o600);
    expect(agentErr).toContain(`diagnostic bundle ${built.bundleId} created`);
    return files;
  }

  beforeAll(async () => {
    ensureAgentBuilt();
    buildCli();
    await lab.create();
    m = await startMcaLab(lab, 'tdb', {
      ocserv: { pool: '10.239.110.0/24', device: 'tdbv', dpd: 10, keepalive: 10 },
      gatewayPool: '10.239.120.0/24',
      splitInclude: '10.239.50.0/24',
    });
    ({ s, userStore } = m);
    agent = lab.spawn(lab.cli, process.execPath, [
      TANDEMD,
      ...agentArgs(s),
      '--gateway-ca',
      m.pki.caFile,
      '--resolve',
      `vpn.lab.test:${lab.srvAddr}`,
    ]);
    agent.stderr!.on('data', (d: Buffer) => (agentErr += d.toString()));
    await waitFor((st) => st.machine.status.state === 'connected', 'machine tunnel');
  }, 120_000);

  afterAll(async () => {
    if (agent) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
    await m?.stop();
    await lab.destroy();
  });

  it('root, machine tunnel up: a complete bundle with the administrators’ part', async () => {
    const dir = join(s.dir, 'root-out');
    mkdirSync(dir, { mode: 0o700 });
    const r = await tandem(['diag', 'bundle', '--json'], 0, dir);
    expect(r.code, r.err + agentErr.slice(-2000)).toBe(0);
    const built = JSON.parse(r.out) as Built;
    expect(built.audience).toBe('admin');
    const files = await check(built);
    const names = Object.keys(files);
    for (const f of [
      'summary.txt',
      'README.txt',
      'agent/logs/agent.log',
      'agent/state.json',
      'agent/stats.txt',
      'agent/events.jsonl',
      'agent/config/effective.json',
      'profiles/validation.txt',
      'certificates/candidates.txt',
      'certificates/selected.txt',
      'certificates/server-chain.txt',
      'network/interfaces.txt',
      'network/routes4.txt',
      'network/connectivity.txt',
      'system/os.txt',
      'system/processes.txt',
      'client/cli.txt',
    ])
      expect(names, f).toContain(f);
    expect(files['summary.txt']).toMatch(/Machine tunnel: connected/);
    expect(files['certificates/candidates.txt']).toMatch(/ACCEPTED/);
    expect(files['certificates/server-chain.txt']).toMatch(/chain validation: valid/);
    expect(files['network/connectivity.txt']).toMatch(/TLS\s+ok/);
    // The gateway's and this machine's names only as tokens.
    const all = Object.values(files).join('\n');
    expect(all).not.toContain('vpn.lab.test');
    expect(all).not.toContain('machine.lab.test');
    expect(all).toMatch(/host-[0-9a-f]{8}/);
    process.stdout.write(`diag bundle (root, machine tunnel up): ${built.ms} ms, ${built.size} bytes\n`);
  }, 60_000);

  it('an unprivileged user with its user tunnel up: complete, and nothing machine-only', async () => {
    const c = await tandem(['connect', 'Lab MCA', '--user-store', userStore], NOBODY, '/');
    expect(c.code, c.out + c.err + agentErr.slice(-3000)).toBe(0);
    await waitFor((st) => st.user.status.state === 'connected' && st.user.ownerUid === NOBODY, 'user tunnel');
    const dir = join(s.dir, 'nobody-out');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, NOBODY, NOBODY);
    const r = await tandem(['diag', 'bundle', '--json', '--user-store', userStore], NOBODY, dir);
    expect(r.code, r.err + agentErr.slice(-2000)).toBe(0);
    const built = JSON.parse(r.out) as Built;
    expect(built.audience).toBe('user');
    expect(statSync(built.path).uid).toBe(NOBODY);
    const files = await check(built);
    const names = Object.keys(files);
    for (const f of [
      'agent/logs/agent.log',
      'certificates/candidates.txt',
      'system/processes.txt',
      'system/journal.txt',
    ])
      expect(names, f).not.toContain(f);
    expect(names.some((n) => n.startsWith('profiles/mgmttun'))).toBe(false);
    expect(files['summary.txt']).toMatch(/User tunnel:\s+connected/);
    expect(files['certificates/user-candidates.txt']).toMatch(/ACCEPTED/);
    expect(files['certificates/selected.txt']).toMatch(
      /User tunnel: user certificate[^\n]*selected: CN=cn-[0-9a-f]{8}/,
    );
    // Machine-only: the machine certificate's fingerprint and the management profile's contents.
    const machineSha = createHash('sha256').update(Buffer.from(m.pki.machine.cert.rawData)).digest('hex');
    const all = Object.values(files).join('\n');
    expect(all).not.toContain(machineSha);
    expect(all).not.toContain('machineProfile.');
    expect(readdirSync(dir).sort()).toEqual([built.path.split('/').pop(), built.redactionMap.split('/').pop()].sort());
    const map = JSON.parse(readFileSync(built.redactionMap, 'utf8')) as {
      tokens: Record<string, Record<string, string>>;
    };
    expect(Object.keys(map.tokens.host ?? {})).toContain('vpn.lab.test');
    // What was masked in this bundle is what it holds: never the machine's certificate.
    expect(Object.keys(map.tokens.cn ?? {})).toContain('alice');
    expect(Object.keys(map.tokens.cn ?? {})).not.toContain('machine.lab.test');
    expect(Object.keys(map.tokens.fp ?? {})).not.toContain(machineSha);
    process.stdout.write(`diag bundle (uid 65534, user tunnel up): ${built.ms} ms, ${built.size} bytes\n`);
  }, 90_000);

  it('--no-redact is for administrators: names in clear for root, E_PERMISSION for 65534', async () => {
    const dir = join(s.dir, 'plain-out');
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, NOBODY, NOBODY);
    const refused = await tandem(['diag', 'bundle', '--no-redact', '--json'], NOBODY, dir);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ error: { code: 'E_PERMISSION' } });
    expect(readdirSync(dir)).toEqual([]);
    const r = await tandem(['diag', 'bundle', '--no-redact', '--json'], 0, dir);
    expect(r.code, r.err).toBe(0);
    const built = JSON.parse(r.out) as Built;
    expect(built.redactionMap).toBeNull();
    const files = await zipEntries(built.path);
    expect(JSON.parse(files['manifest.json']!)).toMatchObject({ redaction: { mode: 'none', secrets: 'removed' } });
    expect(files['network/connectivity.txt']).toContain('vpn.lab.test');
  }, 60_000);

  it('--record: verbose logging while the user reproduces, back to normal on Enter, the debug records in the bundle', async () => {
    const dir = join(s.dir, 'record-out');
    mkdirSync(dir, { mode: 0o700 });
    const child = spawn(
      'ip',
      ['netns', 'exec', lab.cli, process.execPath, CLI, 'diag', 'bundle', '--record', '--json', '--socket', s.socket],
      { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t0 = Date.now();
    while (!/press Enter/.test(err) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
    expect(err).toMatch(/Verbose logging is on until \d{4}-/);
    // Something to record: a status call logs at debug level only while recording.
    await status();
    child.stdin.end('\n');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, err).toBe(0);
    const built = JSON.parse(out) as Built;
    const log = (await zipEntries(built.path))['agent/logs/agent.log']!;
    const records = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    const on = records.findIndex((r) => r.msg === 'verbose logging on for a diagnostic recording');
    const off = records.findIndex((r) => r.msg === 'verbose logging back to normal');
    expect(on).toBeGreaterThanOrEqual(0);
    expect(off).toBeGreaterThan(on);
    expect(records.slice(on, off).some((r) => r.level === 'debug')).toBe(true);
    expect(records.slice(off + 1).some((r) => r.level === 'debug')).toBe(false);
  }, 60_000);
});
