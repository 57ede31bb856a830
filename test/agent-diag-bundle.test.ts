/**
 * `tandem diag bundle` against a real agent (issue 14's must-show): tandemd brings the machine
 * tunnel up to real ocserv in a network namespace; root builds a bundle (the administrators'
 * part included); then an UNPRIVILEGED user connects the MCA user tunnel and builds its own
 * bundle, which must hold nothing machine-only. Both archives are read by real tools (unzip,
 * Python's zipfile) and by `tandem diag inspect`; time and size are printed for the closing note.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBundle } from '@tandem/diagnostics';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { NetnsLab } from './lib/netns.js';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import {
  agentArgs,
  ensureAgentBuilt,
  runClient,
  scratch,
  TANDEMD,
  zipEntries,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { mgmtProfile, userProfile } from './fixtures/agent/lab-profiles.js';

const run = promisify(execFile);
const skip = missing('netns', 'ocserv', 'unzip', 'python3');
const CLI = join(import.meta.dirname, '..', 'apps/cli/bin/tandem.js');
const NOBODY = 65534;

type Status = { machine: { status: { state: string } }; user: { ownerUid?: number; status: { state: string } } };
type Built = { path: string; bundleId: string; size: number; ms: number; redactionMap: string; audience: string };

describe.skipIf(skip !== null)(titled('tandem diag bundle against a real agent (netns, ocserv)', skip), () => {
  const lab = new NetnsLab('tdb', [239, 9]);
  let pki: Lab;
  let ocserv: Ocserv;
  let gw: GatewayProc;
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
    pki = await standardLab('tdb');
    ocserv = await startOcserv(lab, pki, { pool: '10.239.110.0/24', device: 'tdbv', dpd: 10, keepalive: 10 });
    const server = join(pki.dir, 'gw-server.pem');
    writeFileSync(server, pki.server.certPem + pki.intermediate.certPem);
    const serverKey = join(pki.dir, 'gw-server.key');
    writeFileSync(serverKey, pki.server.keyPem, { mode: 0o600 });
    gw = await GatewayProc.start(
      [
        '--cert',
        server,
        '--key',
        serverKey,
        '--ca',
        pki.caFile,
        '--mca',
        '--username-from',
        'second',
        '--pool',
        '10.239.120.0/24',
        '--split-include',
        '10.239.50.0/24',
      ],
      { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
    );
    s = scratch();
    writeFileSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), mgmtProfile(), { mode: 0o644 });
    writeFileSync(join(s.profiles, 'user.xml'), userProfile({ match: true }), { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
    userStore = join(s.dir, 'alice-store');
    mkdirSync(userStore, { mode: 0o700 });
    writeFileSync(join(userStore, 'alice.pem'), pki.user.certPem + pki.intermediate.certPem + pki.user.keyPem, {
      mode: 0o600,
    });
    for (const p of [userStore, join(userStore, 'alice.pem')]) chownSync(p, NOBODY, NOBODY);
    chmodSync(s.dir, 0o755);
    agent = lab.spawn(lab.cli, process.execPath, [
      TANDEMD,
      ...agentArgs(s),
      '--gateway-ca',
      pki.caFile,
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
    await gw?.stop();
    await ocserv?.stop();
    await lab.destroy();
    s?.cleanup();
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
    if (process.env['KEEP']) writeFileSync('/tmp/keep.json', JSON.stringify(files));
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
    const machineSha = createHash('sha256').update(Buffer.from(pki.machine.cert.rawData)).digest('hex');
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
});
