/**
 * `tandem auth` (our client, spawned as a real process) against the real tandem-lab-gateway
 * binary: MCA accepted with ECDSA and RSA user certificates, the gateway's session line naming
 * the user from the first or second certificate, and refusals with the gateway's reason.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EKU, issue, KU, standardLab, type Issued, type Lab, writeCertAndKey } from '@tandem/testkit';
import { GatewayProc, ROOT } from './fixtures/lab-gateway/harness.js';
import { buildCli } from './fixtures/anyconnect/cli.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'apps/cli/bin/tandem.js');

interface AuthRun {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | null;
}

async function tandemAuth(args: string[]): Promise<AuthRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'auth', ...args], { timeout: 30_000 });
    return {
      code: 0,
      stdout,
      stderr,
      json: stdout.trim().startsWith('{') ? (JSON.parse(stdout) as Record<string, unknown>) : null,
    };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return {
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
      json: e.stdout?.trim().startsWith('{') ? (JSON.parse(e.stdout) as Record<string, unknown>) : null,
    };
  }
}

describe('tandem auth against tandem-lab-gateway (MCA)', () => {
  let lab: Lab;
  let bob: Issued;
  let files: Record<string, { cert: string; key: string }>;
  let rootFile: string;
  const gateways: GatewayProc[] = [];

  beforeAll(async () => {
    buildCli();
    lab = await standardLab('tac-auth');
    bob = await issue(
      {
        subject: 'CN=bob, OU=staff, O=Tandem Lab',
        key: 'rsa2048',
        keyUsage: KU.digitalSignature,
        eku: [EKU.clientAuth],
      },
      lab.intermediate,
    );
    const evilRoot = await issue({ subject: 'CN=Evil Root CA', ca: true, keyUsage: KU.keyCertSign });
    const evil = await issue({ subject: 'CN=mallory', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] }, evilRoot);
    const d = lab.dir;
    files = {
      server: writeCertAndKey(d, 'server', lab.server, lab.server, [lab.intermediate]),
      machine: writeCertAndKey(d, 'machine', lab.machine),
      alice: writeCertAndKey(d, 'alice', lab.user),
      bob: writeCertAndKey(d, 'bob', bob, bob, [lab.intermediate]),
      evil: writeCertAndKey(d, 'evil', evil),
    };
    rootFile = join(d, 'root.pem');
    writeFileSync(rootFile, lab.root.certPem);
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.stop();
  });

  async function gateway(extra: string[]): Promise<GatewayProc> {
    const g = await GatewayProc.start([
      '--cert',
      files.server!.cert,
      '--key',
      files.server!.key,
      '--ca',
      lab.caFile,
      ...extra,
    ]);
    gateways.push(g);
    return g;
  }

  function args(g: GatewayProc, user: keyof typeof files | null, extra: string[] = []): string[] {
    const a = [
      `https://vpn.lab.test:${g.port}/`,
      '--resolve',
      'vpn.lab.test:127.0.0.1',
      '--cafile',
      rootFile,
      '--machine-cert',
      files.machine!.cert,
      '--machine-key',
      files.machine!.key,
      '--json',
      ...extra,
    ];
    if (user) a.push('--user-cert', files[user]!.cert, '--user-key', files[user]!.key);
    return a;
  }

  it('MCA with an ECDSA user certificate: accepted, session named after the second certificate', async () => {
    const g = await gateway(['--mca', '--username-from', 'second']);
    const r = await tandemAuth(args(g, 'alice'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ authenticated: true, mca: true, gateway: `https://vpn.lab.test:${g.port}/` });
    expect(r.json!['serverCertSha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(r.json!['cookie']).toBeUndefined();
    const session = await g.waitFor((e) => e.event === 'session');
    expect(session).toMatchObject({ username: 'alice', authMode: 'multiple-certificate' });
  });

  it('MCA with an RSA user certificate and its chain; --username-from first names the machine', async () => {
    const g = await gateway(['--mca', '--username-from', 'first']);
    const r = await tandemAuth(args(g, 'bob', ['--print-cookie']));
    expect(r.code).toBe(0);
    expect(typeof r.json!['cookie']).toBe('string');
    const session = await g.waitFor((e) => e.event === 'session');
    expect(session).toMatchObject({ username: 'machine.lab.test', authMode: 'multiple-certificate' });
    expect(String(session['user'])).toContain('CN=bob');
  });

  it('refuses with the gateway reason: untrusted user CA, and no user certificate on an MCA gateway', async () => {
    const g = await gateway(['--mca']);
    const evil = await tandemAuth(args(g, 'evil'));
    expect(evil.code).toBe(1);
    expect(evil.json).toMatchObject({ authenticated: false, error: { code: 'E_AUTH_REJECTED' } });
    const failed = await g.waitFor((e) => e.event === 'auth-failed');
    expect(String(failed['reason'])).toMatch(/does not chain to a trusted CA/);
    const none = await tandemAuth(args(g, null));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/tandem auth: /);
  });

  it('certificate-only gateway: no MCA advertised, complete directly', async () => {
    const g = await gateway([]);
    const r = await tandemAuth(args(g, null));
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ authenticated: true, mca: false });
  });

  it('usage errors exit 2', async () => {
    expect((await tandemAuth([])).code).toBe(2);
    expect((await tandemAuth(['https://x.test/', '--resolve', 'other.test:127.0.0.1'])).code).toBe(2);
    expect((await tandemAuth(['https://x.test/', '--servercert', 'sha1:abc'])).code).toBe(2);
  });
});
