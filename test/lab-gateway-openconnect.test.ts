/**
 * Real openconnect 9.01 against tandem-lab-gateway (spawned binary, 127.0.0.1, no netns):
 * MCA accepted with RSA and ECDSA user certificates, refused with a clear auth-failed reason
 * for an untrusted user CA, a user key that does not match the certificate, and a client that
 * does not offer multiple-cert; username mapping from the first/second certificate and fields.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EKU, issue, KU, standardLab, type Issued, type Lab, missing, titled, writeCertAndKey } from '@tandem/testkit';
import { GatewayProc, runOpenconnect, type OcResult } from './fixtures/lab-gateway/harness.js';

const skip = missing('openconnect');

describe.skipIf(skip !== null)(titled('lab-gateway ↔ openconnect MCA', skip), () => {
  let lab: Lab;
  let bob: Issued; // RSA user certificate
  let evilUser: Issued; // issued by a CA the gateway does not trust
  let files: Record<string, { cert: string; key: string }>;
  let serverArgs: string[];
  const gateways: GatewayProc[] = [];
  const timings: number[] = [];

  beforeAll(async () => {
    lab = await standardLab('tlg-oc');
    bob = await issue(
      {
        subject: 'CN=bob, OU=staff, O=Tandem Lab',
        key: 'rsa2048',
        keyUsage: KU.digitalSignature,
        eku: [EKU.clientAuth],
        san: [{ type: 'email', value: 'bob@lab.test' }],
      },
      lab.intermediate,
    );
    const evilRoot = await issue({
      subject: 'CN=Evil Root CA, O=Elsewhere',
      ca: true,
      keyUsage: KU.keyCertSign | KU.cRLSign,
    });
    evilUser = await issue(
      { subject: 'CN=mallory, OU=users, O=Elsewhere', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
      evilRoot,
    );
    const d = lab.dir;
    files = {
      server: writeCertAndKey(d, 'server', lab.server, lab.server, [lab.intermediate]),
      machine: writeCertAndKey(d, 'machine', lab.machine),
      alice: writeCertAndKey(d, 'alice', lab.user),
      bob: writeCertAndKey(d, 'bob', bob, bob, [lab.intermediate]),
      evil: writeCertAndKey(d, 'evil', evilUser),
      aliceWrongKey: writeCertAndKey(d, 'alice-wrongkey', lab.user, lab.machine),
    };
    writeFileSync(join(d, 'root.pem'), lab.root.certPem);
    serverArgs = ['--cert', files.server!.cert, '--key', files.server!.key, '--ca', lab.caFile];
  });

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    if (timings.length) process.stdout.write(`openconnect MCA auth wall time (ms): ${timings.join(', ')}\n`);
  });

  async function gateway(extra: string[]): Promise<GatewayProc> {
    const g = await GatewayProc.start([...serverArgs, ...extra]);
    gateways.push(g);
    return g;
  }

  function oc(g: GatewayProc, user: { cert: string; key: string } | null, machine = files.machine!): Promise<OcResult> {
    const args = [
      '--authenticate',
      '--non-inter',
      '--cafile',
      join(lab.dir, 'root.pem'),
      '--resolve',
      'vpn.lab.test:127.0.0.1',
      '-c',
      machine.cert,
      '-k',
      machine.key,
    ];
    if (user) args.push('--mca-certificate', user.cert, '--mca-key', user.key);
    args.push(`https://vpn.lab.test:${g.port}/`);
    return runOpenconnect(args);
  }

  it('accepts an ECDSA user certificate (alice) and names alice', async () => {
    const g = await gateway(['--mca']);
    const r = await oc(g, files.alice!);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^COOKIE=/m);
    timings.push(r.ms);
    const s = await g.waitFor((e) => e.event === 'session');
    expect(s).toMatchObject({
      username: 'alice',
      authMode: 'multiple-certificate',
      machine: 'CN=machine.lab.test, OU=machines, O=Tandem Lab',
      user: 'CN=alice, OU=users, O=Tandem Lab',
      group: 'LAB',
    });
    expect(g.all('auth-failed')).toEqual([]);
    // The cookie openconnect printed is never in the event stream.
    const cookie = /^COOKIE='?([^'\n]+)/m.exec(r.stdout)?.[1] ?? '';
    expect(cookie.length).toBeGreaterThan(10);
    expect(g.rawLines.join('\n')).not.toContain(cookie.replace(/^webvpn=/, ''));
  });

  it('accepts an RSA user certificate sent with its intermediate (bob)', async () => {
    const g = await gateway(['--mca']);
    const r = await oc(g, files.bob!);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^COOKIE=/m);
    timings.push(r.ms);
    expect(await g.waitFor((e) => e.event === 'session')).toMatchObject({
      username: 'bob',
      user: 'CN=bob, OU=staff, O=Tandem Lab',
    });
  });

  it('refuses a user certificate from an untrusted CA', async () => {
    const g = await gateway(['--mca']);
    const r = await oc(g, files.evil!);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/^COOKIE=/m);
    const f = await g.waitFor((e) => e.event === 'auth-failed');
    expect(f['reason']).toMatch(/user certificate: .*mallory.*does not chain to a trusted CA/);
    expect(g.all('session')).toEqual([]);
  });

  it('wrong user key: openconnect itself refuses to sign, the gateway issues no session', async () => {
    // openconnect pairs the MCA key with the certificate whose public key matches it and stops
    // before answering the challenge, so a real openconnect can never send a mismatched
    // signature. The gateway's signature check is exercised by apps/lab-gateway/test/mca.test.ts, whose
    // Node client signs the challenge with a different key.
    const g = await gateway(['--mca']);
    const r = await oc(g, files.aliceWrongKey!);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/^COOKIE=/m);
    expect(r.stderr).toMatch(/No secondary certificate found to match private key/);
    await g.waitFor((e) => e.event === 'challenge');
    expect(g.all('session')).toEqual([]);
  });

  it('refuses a client without a user certificate (does not offer multiple-cert)', async () => {
    const g = await gateway(['--mca']);
    const r = await oc(g, null);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/^COOKIE=/m);
    expect((await g.waitFor((e) => e.event === 'auth-failed'))['reason']).toBe('client did not offer multiple-cert');
  });

  it.each([
    [['--username-from', 'first'], 'machine.lab.test'],
    [['--username-from', 'second'], 'alice'],
    [['--username-from', 'first', '--username-field', 'OU'], 'machines'],
    [['--username-from', 'second', '--username-field', 'OU'], 'users'],
    [['--username-from', 'second', '--username-field', 'DN'], 'CN=alice, OU=users, O=Tandem Lab'],
    [['--username-from', 'first', '--username-field', 'O'], 'Tandem Lab'],
  ])('maps the username with %j → %s', async (args, expected) => {
    const g = await gateway(['--mca', ...args]);
    const r = await oc(g, files.alice!);
    expect(r.code, r.stderr).toBe(0);
    expect((await g.waitFor((e) => e.event === 'session'))['username']).toBe(expected);
  });

  it('certificate-only mode (no --mca) completes on init with the machine certificate', async () => {
    const g = await gateway([]);
    const r = await oc(g, null);
    expect(r.code, r.stderr).toBe(0);
    expect(await g.waitFor((e) => e.event === 'session')).toMatchObject({
      username: 'machine.lab.test',
      authMode: 'certificate',
      user: null,
    });
  });

  it('refuses a machine certificate from an untrusted CA at the TLS step', async () => {
    const g = await gateway(['--mca']);
    const r = await oc(g, files.alice!, files.evil!);
    expect(r.code).not.toBe(0);
    expect((await g.waitFor((e) => e.event === 'auth-failed'))['reason']).toMatch(
      /^machine certificate: .*does not chain to a trusted CA/,
    );
  });
});
