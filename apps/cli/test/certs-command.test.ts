/**
 * `tandem certs list|select` in-process through the CLI dispatcher: the shipped profiles in
 * profiles/ against a store with matching and non-matching certificates, exit codes, the JSON
 * shape, binding strings, and no secret in any output.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findSoftoken } from '@tandem/certs';
import { main } from '../src/cli.js';
import { repoRoot } from './run-cli.js';
import {
  issue,
  standardLab,
  writePem,
  writeP12,
  KU,
  EKU,
  tempDir,
  type Issued,
  type Lab,
  isRoot,
  titled,
  which,
} from '@tandem/testkit';

const PROFILES = {
  mca: join(repoRoot, 'profiles/user-mca.xml'),
  mgmt: join(repoRoot, 'profiles/mgmttun/VpnMgmtTunProfile.xml'),
  minimal: join(repoRoot, 'profiles/minimal.xml'),
};
const DAY = 86_400_000;
const GOOD = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };

let lab: Lab;
let userDir: string;
let machineDir: string;
let onlyBobDir: string;
const certs: Record<string, Issued> = {};

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

function stores(user = userDir): string[] {
  // Only the test's directories: not this machine's Secure Client directories or NSS database.
  const base = ['--user-store', user, '--machine-store', machineDir, '--no-nss-db', '--no-cisco-stores'];
  return isRoot ? base : [...base, '--insecure-machine-store'];
}

beforeAll(async () => {
  lab = await standardLab('certs-cli');
  const issuing = await issue(
    { subject: 'CN=Example Corp Issuing CA, O=Example Corp', ca: true, keyUsage: KU.keyCertSign },
    lab.root,
  );
  const machineCa = await issue(
    { subject: 'CN=Example Corp Machine CA, DC=example, DC=com', ca: true, keyUsage: KU.keyCertSign },
    lab.root,
  );
  certs['alice'] = await issue(
    {
      subject: 'CN=alice, O=Example Corp',
      ...GOOD,
      notAfter: new Date(Date.now() + 400 * DAY),
      san: [{ type: 'upn', value: 'alice@example.com' }],
    },
    issuing,
  );
  certs['aliceNoKey'] = await issue({ subject: 'CN=alice-old, O=Example Corp', ...GOOD }, issuing);
  certs['bob'] = await issue({ subject: 'CN=bob, O=Tandem Lab', ...GOOD }, lab.intermediate);
  certs['machine'] = await issue({ subject: 'CN=pc1.example.com', ...GOOD }, machineCa);
  certs['machineExpired'] = await issue(
    {
      subject: 'CN=pc1-old.example.com',
      ...GOOD,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    },
    machineCa,
  );
  certs['machineInUser'] = await issue({ subject: 'CN=pc2.example.com', ...GOOD }, machineCa);
  userDir = tempDir('cli-user');
  machineDir = tempDir('cli-machine');
  onlyBobDir = tempDir('cli-bob');
  writePem(userDir, 'alice', certs['alice']!);
  writeFileSync(join(userDir, 'alice-old.crt'), certs['aliceNoKey']!.certPem);
  writeP12(userDir, 'bob', certs['bob']!, '');
  writePem(userDir, 'pc2', certs['machineInUser']!);
  writeFileSync(join(userDir, 'junk.pem'), 'garbage');
  writePem(machineDir, 'pc1', certs['machine']!);
  writePem(machineDir, 'pc1-old', certs['machineExpired']!);
  writePem(onlyBobDir, 'bob', certs['bob']!);
}, 60_000);

/** SHA-256 of a lab certificate's DER, lower-case hex, as the JSON reports it. */
function fp(name: string): string {
  return createHash('sha256').update(Buffer.from(certs[name]!.cert.rawData)).digest('hex');
}

interface SelectJson {
  selected: { sha256: string; subject: string; store: string; source?: string } | null;
  candidates: Array<{
    sha256: string;
    subject: string;
    store: string;
    source?: string;
    accepted: boolean;
    reasons: string[];
  }>;
}

const profilesMissing = Object.values(PROFILES).filter((p) => !existsSync(p));
describe.skipIf(profilesMissing.length > 0)(
  `tandem certs select on profiles/${profilesMissing.length ? ` [skipped: missing ${profilesMissing.join(', ')}]` : ''}`,
  () => {
    it('user-mca.xml (ISSUER-CN Example Corp Issuing CA, MatchOnlyCertsWithKU): picks alice, explains the rest', async () => {
      const r = await cli('certs', 'select', '--profile', PROFILES.mca, ...stores(), '--json');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as SelectJson;
      expect(Object.keys(j)).toEqual(['selected', 'candidates']);
      expect(j.selected).toEqual({
        sha256: fp('alice'),
        subject: 'CN=alice, O=Example Corp',
        store: 'user',
        source: `dir:${userDir}`,
      });
      for (const c of j.candidates)
        expect(Object.keys(c)).toEqual(['sha256', 'subject', 'store', 'source', 'accepted', 'reasons']);
      const by = Object.fromEntries(j.candidates.map((c) => [c.subject, c]));
      expect(by['CN=alice-old, O=Example Corp']!.reasons).toEqual(['no private key']);
      expect(by['CN=bob, O=Tandem Lab']!.reasons).toEqual([
        "DN rule ISSUER-CN Equal 'Example Corp Issuing CA' not met",
      ]);
      expect(by['CN=pc1.example.com']!.reasons).toEqual(["DN rule ISSUER-CN Equal 'Example Corp Issuing CA' not met"]);
      expect(by['CN=pc1-old.example.com']!.reasons).toEqual([
        'expired on 2021-01-01',
        "DN rule ISSUER-CN Equal 'Example Corp Issuing CA' not met",
      ]);
      expect(r.err).toMatch(/junk\.pem/);
    });

    it('mgmttun/VpnMgmtTunProfile.xml: machine tunnel by default, machine-store pc1 only', async () => {
      const r = await cli('certs', 'select', '--profile', PROFILES.mgmt, ...stores(), '--json');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as SelectJson;
      expect(j.selected).toEqual({
        sha256: fp('machine'),
        subject: 'CN=pc1.example.com',
        store: 'machine',
        source: `dir:${machineDir}`,
      });
      const by = Object.fromEntries(j.candidates.map((c) => [c.subject, c]));
      expect(by['CN=pc2.example.com']!.reasons).toEqual([
        'in user store but the machine tunnel uses the machine store',
      ]);
      expect(by['CN=pc1-old.example.com']!.reasons).toEqual(['expired on 2021-01-01']);
      expect(by['CN=alice, O=Example Corp']!.reasons).toEqual([
        'in user store but the machine tunnel uses the machine store',
        "DN rule ISSUER-CN Equal 'Example Corp Machine CA' not met",
        "DN rule ISSUER-DC Equal 'example' not met",
      ]);
    });

    it('minimal.xml (no CertificateMatch, default rules): longest remaining validity wins', async () => {
      const r = await cli('certs', 'select', '--profile', PROFILES.minimal, ...stores(), '--json');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as SelectJson;
      expect(j.selected?.sha256).toBe(fp('alice'));
      // bob is there twice: as bob.p12 and as the PEM pair writeP12 leaves beside it.
      expect(
        j.candidates
          .filter((c) => c.accepted)
          .map((c) => c.subject)
          .sort(),
      ).toEqual([
        'CN=alice, O=Example Corp',
        'CN=bob, O=Tandem Lab',
        'CN=bob, O=Tandem Lab',
        'CN=pc1.example.com',
        'CN=pc2.example.com',
      ]);
    });

    it('exit 1 and selected null when nothing matches; human output names the reasons', async () => {
      const r = await cli(
        'certs',
        'select',
        '--profile',
        PROFILES.mca,
        ...stores(onlyBobDir),
        '--store',
        'user',
        '--json',
      );
      expect(r.code).toBe(1);
      expect((JSON.parse(r.out) as SelectJson).selected).toBeNull();
      const h = await cli('certs', 'select', '--profile', PROFILES.mca, ...stores(onlyBobDir), '--store', 'user');
      expect(h.code).toBe(1);
      expect(h.out).toContain("DN rule ISSUER-CN Equal 'Example Corp Issuing CA' not met");
      expect(h.out).toContain('No certificate selected.');
    });

    it('--tunnel user overrides the management-profile default', async () => {
      const r = await cli('certs', 'select', '--profile', PROFILES.mgmt, '--tunnel', 'user', ...stores(), '--json');
      const j = JSON.parse(r.out) as SelectJson;
      // CertificateStoreLinux=Machine in that profile still limits the user tunnel to the machine store.
      expect(j.candidates.find((c) => c.subject === 'CN=pc2.example.com')!.reasons).toEqual([
        'in user store but CertificateStoreLinux is Machine',
      ]);
    });
  },
);

describe('tandem certs usage and list', () => {
  it('usage errors exit 2', async () => {
    expect((await cli('certs', 'select')).code).toBe(2);
    expect((await cli('certs', 'select', '--profile', PROFILES.minimal, '--tunnel', 'both')).code).toBe(2);
    expect((await cli('certs', 'list', '--store', 'everything')).code).toBe(2);
    expect((await cli('certs', 'list', '--pkcs11-pin', '1234')).code).toBe(2);
    expect(
      (await cli('certs', 'list', '--pkcs11-module', '/x.so', '--pkcs11-pin-env', 'TANDEM_NO_SUCH_VAR_X')).code,
    ).toBe(2);
  });

  it('an unreadable profile exits 1', async () => {
    const r = await cli('certs', 'select', '--profile', join(userDir, 'nope.xml'), ...stores());
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no such file/);
  });

  it('list --json: every certificate with model and certificateUserIds bindings; diagnostics listed', async () => {
    const r = await cli('certs', 'list', ...stores(), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      certificates: Array<Record<string, unknown> & { bindings: Array<{ kind: string; value: string }> }>;
      diagnostics: Array<{ origin: string }>;
    };
    // 4 user PEM/P12 files + bob's PEM pair left by writeP12 + 2 machine certificates.
    expect(j.certificates).toHaveLength(7);
    const alice = j.certificates.find((c) => (c['subject'] as { dn: string }).dn === 'CN=alice, O=Example Corp')!;
    expect(alice['store']).toBe('user');
    expect(alice['sha256']).toBe(fp('alice'));
    expect(alice.bindings.map((b) => b.value)).toContain('X509:<S>CN=alice,O=Example Corp');
    expect(alice.bindings.map((b) => b.value)).toContain('X509:<PN>alice@example.com');
    expect(alice.bindings.find((b) => b.kind === 'IssuerAndSerialNumber')!.value).toMatch(
      /^X509:<I>CN=Example Corp Issuing CA,O=Example Corp<SR>[0-9a-f]+$/,
    );
    expect(j.diagnostics.map((d) => d.origin)).toContain(join(userDir, 'junk.pem'));
    expect(r.out).not.toMatch(/PRIVATE KEY/);
  });

  it('list (human) and --store machine', async () => {
    const r = await cli('certs', 'list', ...stores(), '--store', 'machine');
    expect(r.code).toBe(0);
    expect(r.out).toContain('CN=pc1.example.com');
    expect(r.out).not.toContain('CN=alice');
    expect(r.out).toContain('X509:<SHA1-PUKEY>');
  });
});

const nssSkip =
  (which('certutil') && which('pk12util') ? null : 'needs certutil and pk12util (apt-get install libnss3-tools)') ??
  (findSoftoken() ? null : 'needs libsoftokn3.so (apt-get install libnss3)');
describe.skipIf(nssSkip !== null)(titled('tandem certs with an NSS database', nssSkip), () => {
  it('select --nss-db: the certificate in a certutil/pk12util database is chosen, named by its source', async () => {
    const db = tempDir('cli-nssdb');
    execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password'], { stdio: 'pipe', timeout: 30_000 });
    const p12 = writeP12(tempDir('cli-nss-p12'), 'alice', certs['alice']!, 'p12-pass');
    execFileSync('pk12util', ['-i', p12, '-d', `sql:${db}`, '-W', 'p12-pass'], { stdio: 'pipe', timeout: 30_000 });
    const args = ['--user-store', tempDir('cli-empty'), '--no-cisco-stores', '--nss-db', db, '--store', 'user'];
    const r = await cli('certs', 'select', '--profile', PROFILES.mca, ...args, '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as SelectJson).selected).toEqual({
      sha256: fp('alice'),
      subject: 'CN=alice, O=Example Corp',
      store: 'user',
      source: `nss:${db}`,
    });
    const h = await cli('certs', 'select', '--profile', PROFILES.mca, ...args);
    expect(h.out).toContain(`Selected: [user] CN=alice, O=Example Corp (SHA-256 ${fp('alice')}) from nss:${db}`);
    const list = await cli('certs', 'list', ...args, '--json');
    const listed = JSON.parse(list.out) as { certificates: Array<{ origin: string; keySource: string }> };
    expect(listed.certificates.map((c) => [c.origin.split(';')[0], c.keySource])).toEqual([[`nss:${db}`, 'nss']]);
    // Without the database, the user store is empty.
    const none = await cli('certs', 'select', '--profile', PROFILES.mca, ...args, '--no-nss-db', '--json');
    expect(none.code).toBe(1);
  });
});
