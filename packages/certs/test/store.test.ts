/**
 * Directory sources (PKCS#12 with and without password, legacy RC2, PEM with chain and key,
 * NAME.key beside, encrypted keys, garbage files), the machine-store ownership rule, Secure
 * Client's Linux directories, the model fields and the Entra binding strings.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, verify, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certificateUserIds,
  CISCO_MACHINE_STORE,
  ciscoUserStoreDir,
  collectCandidates,
  DirectorySource,
  linuxDefaultStores,
  linuxNssDbDir,
  linuxUserStoreDir,
  nssInitArgs,
  type SecretCallback,
} from '../src/index.js';
import {
  issue,
  standardLab,
  writeP12,
  writePem,
  KU,
  EKU,
  tempDir,
  type Issued,
  type Lab,
  isRoot,
} from '@tandem/testkit';

let lab: Lab;
let rsa: Issued;
let upn: Issued;

beforeAll(async () => {
  lab = await standardLab('certs-store');
  rsa = await issue(
    { subject: 'CN=rsa user, O=Tandem Lab', key: 'rsa2048', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
    lab.intermediate,
  );
  upn = await issue(
    {
      subject: 'DC=com, DC=contoso, OU=UserAccounts, CN=mfatest',
      keyUsage: KU.digitalSignature | KU.nonRepudiation,
      eku: [EKU.clientAuth, EKU.smartcardLogon],
      policies: ['1.3.6.1.4.1.311.21.8.1'],
      san: [
        { type: 'upn', value: 'mfatest@contoso.com' },
        { type: 'email', value: 'mfatest@contoso.com' },
        { type: 'dns', value: 'pc1.contoso.com' },
        { type: 'ip', value: '10.1.2.3' },
        { type: 'url', value: 'https://contoso.com/u' },
      ],
      serial: '00a1b2c3d4',
    },
    lab.intermediate,
  );
}, 60_000);

function asker(answers: Record<string, string>, log: string[] = []): SecretCallback {
  return async (req) => {
    log.push(`${req.kind}:${req.origin}`);
    return answers[req.kind] ?? null;
  };
}

async function signsAndVerifies(src: DirectorySource): Promise<boolean> {
  const [e] = await src.list();
  const signer = await e!.signer!();
  const sig = await signer.sign(Buffer.from('x'), 'sha256');
  return verify(
    'sha256',
    Buffer.from('x'),
    { key: new X509Certificate(e!.model.der).publicKey, dsaEncoding: 'der' },
    sig,
  );
}

describe('directory source', () => {
  it('PKCS#12 with an empty password (no callback needed), EC key, chain included', async () => {
    const d = tempDir('p12-empty');
    writeP12(d, 'user', lab.user, '', [lab.intermediate]);
    const src = new DirectorySource(d);
    const entries = (await src.list()).filter((e) => e.origin.endsWith('.p12'));
    expect(entries).toHaveLength(1);
    expect(entries[0]!.model.subjectDn).toBe('CN=alice, OU=users, O=Tandem Lab');
    expect(entries[0]!.model.key).toEqual({ hasPrivateKey: true, keySource: 'pkcs12', keyProblem: null });
    expect(entries[0]!.chain.map((c) => c.subjectDn)).toEqual(['CN=Tandem Lab Issuing CA, O=Tandem Lab']);
  });

  it('PKCS#12 with a password via the callback; wrong/missing password → diagnostic', async () => {
    const d = tempDir('p12-pw');
    writeP12(d, 'rsa', rsa, 's3cret-p12');
    execFileSync('rm', ['-f', join(d, 'rsa.p12src.crt'), join(d, 'rsa.p12src.key')]);
    const log: string[] = [];
    const ok = new DirectorySource(d, { secret: asker({ pkcs12: 's3cret-p12' }, log) });
    expect((await ok.list()).map((e) => e.model.key.hasPrivateKey)).toEqual([true]);
    expect(log).toEqual([`pkcs12:${join(d, 'rsa.p12')}`]);
    expect(await signsAndVerifies(ok)).toBe(true);
    const wrong = new DirectorySource(d, { secret: asker({ pkcs12: 'nope' }) });
    expect(await wrong.list()).toEqual([]);
    expect(wrong.diagnostics()).toEqual([{ origin: join(d, 'rsa.p12'), message: 'PKCS#12 password is wrong' }]);
    const none = new DirectorySource(d);
    expect(await none.list()).toEqual([]);
    expect(none.diagnostics()[0]!.message).toBe('PKCS#12 file needs a password and none was given');
    expect(JSON.stringify(wrong.diagnostics())).not.toContain('s3cret');
  });

  it('legacy RC2-40 PKCS#12 (openssl -legacy), which Node alone cannot read', async () => {
    const d = tempDir('p12-legacy');
    const { cert, key } = writePem(tempDir('p12-legacy-src'), 'rsa', rsa);
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-legacy',
      '-in',
      cert,
      '-inkey',
      key,
      '-out',
      join(d, 'legacy.pfx'),
      '-passout',
      'pass:legacy-pw',
    ]);
    // openssl reports the bag encryption on stderr; make sure the file really is RC2.
    const info = spawnSync(
      'openssl',
      ['pkcs12', '-info', '-legacy', '-in', join(d, 'legacy.pfx'), '-passin', 'pass:legacy-pw', '-noout'],
      { encoding: 'utf8' },
    );
    expect(info.stderr + info.stdout).toMatch(/RC2/);
    const src = new DirectorySource(d, { secret: asker({ pkcs12: 'legacy-pw' }) });
    const entries = await src.list();
    expect(src.diagnostics()).toEqual([]);
    expect(entries.map((e) => [e.model.subjectDn, e.model.key.hasPrivateKey])).toEqual([
      ['CN=rsa user, O=Tandem Lab', true],
    ]);
    expect(await signsAndVerifies(src)).toBe(true);
  });

  it('PEM with certificate, chain and key in one file; PEM with NAME.key beside; private/NAME.key', async () => {
    const d = tempDir('pem');
    writeFileSync(join(d, 'combined.pem'), lab.intermediate.certPem + lab.user.certPem + lab.user.keyPem);
    writePem(d, 'beside', lab.machine);
    mkdirSync(join(d, 'private'));
    writeFileSync(join(d, 'cisco.pem'), rsa.certPem);
    writeFileSync(join(d, 'private', 'cisco.key'), rsa.keyPem);
    const entries = await new DirectorySource(d).list();
    const by = Object.fromEntries(entries.map((e) => [e.origin.split('/').pop(), e]));
    expect(by['combined.pem']!.model.subjectDn).toBe('CN=alice, OU=users, O=Tandem Lab');
    expect(by['combined.pem']!.chain).toHaveLength(1);
    expect(by['combined.pem']!.model.key.hasPrivateKey).toBe(true);
    expect(by['beside.crt']!.model.key).toEqual({ hasPrivateKey: true, keySource: 'file', keyProblem: null });
    expect(by['cisco.pem']!.model.key.hasPrivateKey).toBe(true);
    const creds = await by['beside.crt']!.tlsCredentials();
    expect('key' in creds && creds.key).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('encrypted PKCS#8 and traditional keys open with the passphrase callback; without it the key is reported locked', async () => {
    const d = tempDir('enc');
    writeFileSync(join(d, 'p8.crt'), lab.user.certPem);
    writeFileSync(
      join(d, 'p8.key'),
      createPrivateKey(lab.user.keyPem).export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'pp-secret',
      }),
    );
    writeFileSync(join(d, 'trad.crt'), rsa.certPem);
    writeFileSync(
      join(d, 'trad.key'),
      createPrivateKey(rsa.keyPem).export({
        type: 'pkcs1',
        format: 'pem',
        cipher: 'aes-128-cbc',
        passphrase: 'pp-secret',
      }),
    );
    const ok = await new DirectorySource(d, { secret: asker({ key: 'pp-secret' }) }).list();
    expect(ok.map((e) => e.model.key.hasPrivateKey)).toEqual([true, true]);
    const locked = await new DirectorySource(d).list();
    expect(locked.map((e) => e.model.key.keyProblem)).toEqual([
      'private key is encrypted and no correct passphrase was given',
      'private key is encrypted and no correct passphrase was given',
    ]);
  });

  it('garbage, empty, truncated and unknown files become diagnostics; the listing goes on', async () => {
    const d = tempDir('garbage');
    writeFileSync(join(d, 'noise.pem'), Buffer.from([0, 1, 2, 3, 255, 254]));
    writeFileSync(join(d, 'empty.crt'), '');
    writeFileSync(join(d, 'half.pem'), lab.user.certPem.slice(0, 200));
    writeFileSync(join(d, 'junk.p12'), 'not a pfx');
    writeFileSync(join(d, 'broken-key.crt'), lab.user.certPem);
    writeFileSync(join(d, 'broken-key.key'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    writeFileSync(join(d, 'notes.txt'), 'hello');
    writePem(d, 'good', lab.user);
    const src = new DirectorySource(d);
    const entries = await src.list();
    expect(entries.map((e) => e.origin.split('/').pop())).toEqual(['good.crt']);
    const diag = Object.fromEntries(src.diagnostics().map((x) => [x.origin.split('/').pop(), x.message]));
    expect(Object.keys(diag).sort()).toEqual([
      'broken-key.crt',
      'empty.crt',
      'half.pem',
      'junk.p12',
      'noise.pem',
      'notes.txt',
    ]);
    expect(diag['notes.txt']).toMatch(/skipped/);
  });

  it('a machine store writable by others is refused; a group-writable file in it is skipped', async () => {
    const d = tempDir('machine');
    writePem(d, 'm', lab.machine);
    chmodSync(d, 0o755);
    const strict = new DirectorySource(d, { requireRootOwned: true });
    if (isRoot) {
      expect(await strict.list()).toHaveLength(1);
      chmodSync(join(d, 'm.crt'), 0o664);
      expect(await strict.list()).toHaveLength(0);
      expect(strict.diagnostics()[0]!.message).toMatch(/owned by root and not writable by group or others/);
      chmodSync(join(d, 'm.crt'), 0o644);
    }
    chmodSync(d, 0o777);
    await expect(strict.list()).rejects.toThrow(/machine store .* refused/);
    const only = { ciscoMachineDir: null, ciscoUserDir: null, nssDb: null };
    const stores = linuxDefaultStores({ machineDir: d, userDir: tempDir('empty-user'), ...only });
    const got = await collectCandidates(stores);
    expect(got.candidates).toHaveLength(0);
    expect(got.diagnostics[0]!.message).toMatch(/refused/);
    const insecure = linuxDefaultStores({
      machineDir: d,
      userDir: tempDir('empty-user2'),
      insecureMachineStore: true,
      ...only,
    });
    expect((await collectCandidates(insecure)).candidates.map((c) => c.store)).toEqual(['machine']);
  });

  it('user store default location follows XDG_CONFIG_HOME', () => {
    expect(linuxUserStoreDir({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toBe('/x/cfg/tandem/certs');
    expect(linuxUserStoreDir({}, '/home/u')).toBe('/home/u/.config/tandem/certs');
  });

  it("the default stores include Secure Client's directories and the user's NSS database", () => {
    expect(ciscoUserStoreDir('/home/u')).toBe('/home/u/.cisco/certificates/client');
    expect(linuxNssDbDir('/home/u')).toBe('/home/u/.pki/nssdb');
    // Softoken's parameters name the database read-only; a quote in the path is escaped.
    expect(nssInitArgs("/home/o'hara/.pki/nssdb")).toBe(
      "configdir='sql:/home/o\\'hara/.pki/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly",
    );
    const stores = linuxDefaultStores();
    expect(stores.machine.map((s) => [s.label, s.kind])).toEqual([
      ['dir:/etc/tandem/certs/machine', 'pem-file'],
      [`dir:${CISCO_MACHINE_STORE}`, 'pem-file'],
    ]);
    expect(CISCO_MACHINE_STORE).toBe('/opt/.cisco/certificates/client');
    expect(stores.user.map((s) => [s.label, s.kind])).toEqual([
      [`dir:${linuxUserStoreDir()}`, 'pem-file'],
      [`dir:${join(homedir(), '.cisco/certificates/client')}`, 'pem-file'],
      [`nss:${join(homedir(), '.pki/nssdb')}`, 'nss'],
    ]);
  });

  it("Secure Client's layout (NAME.pem, private/NAME.key) is read from its user and root-owned machine directories", async () => {
    const put = (dir: string, name: string, who: Issued): void => {
      mkdirSync(join(dir, 'private'), { recursive: true });
      writeFileSync(join(dir, `${name}.pem`), who.certPem);
      writeFileSync(join(dir, 'private', `${name}.key`), who.keyPem, { mode: 0o600 });
    };
    const home = tempDir('cisco-home');
    const ciscoUser = ciscoUserStoreDir(home);
    put(ciscoUser, 'alice', lab.user);
    const ciscoMachine = tempDir('cisco-machine');
    put(ciscoMachine, 'host', lab.machine);
    chmodSync(ciscoMachine, 0o755);
    const opts = {
      machineDir: tempDir('tandem-machine'),
      userDir: tempDir('tandem-user'),
      ciscoMachineDir: ciscoMachine,
      ciscoUserDir: ciscoUser,
      nssDb: null,
      insecureMachineStore: !isRoot,
    };
    const got = await collectCandidates(linuxDefaultStores(opts));
    expect(got.diagnostics).toEqual([]);
    expect(
      got.candidates.map((c) => [c.store, c.source, c.kind, c.model.subjectDn, c.model.key.hasPrivateKey]),
    ).toEqual([
      ['machine', `dir:${ciscoMachine}`, 'pem-file', lab.machine.cert.subject, true],
      ['user', `dir:${ciscoUser}`, 'pem-file', lab.user.cert.subject, true],
    ]);
    if (!isRoot) return;
    // Secure Client's machine directory obeys the machine store's rule: writable by others, refused.
    chmodSync(ciscoMachine, 0o777);
    const refused = await collectCandidates(linuxDefaultStores(opts), 'machine');
    expect(refused.candidates).toEqual([]);
    expect(refused.diagnostics).toEqual([
      expect.objectContaining({
        store: 'machine',
        source: `dir:${ciscoMachine}`,
        message: expect.stringMatching(/refused/),
      }),
    ]);
  });
});

describe('certificate model and Entra bindings', () => {
  it('reads every field and serialises to JSON without key material', async () => {
    const d = tempDir('model');
    writePem(d, 'u', upn);
    const [e] = await new DirectorySource(d).list();
    const m = e!.model;
    const j = JSON.parse(JSON.stringify(m));
    expect(j.subject.attributes).toEqual([
      { type: 'DC', oid: '0.9.2342.19200300.100.1.25', value: 'com' },
      { type: 'DC', oid: '0.9.2342.19200300.100.1.25', value: 'contoso' },
      { type: 'OU', oid: '2.5.4.11', value: 'UserAccounts' },
      { type: 'CN', oid: '2.5.4.3', value: 'mfatest' },
    ]);
    // The DER sign byte (00 before a1) is not part of the number.
    expect(j.serialNumber).toBe('a1b2c3d4');
    expect(j.publicKey).toEqual({ type: 'ec', bits: 256, curve: 'prime256v1' });
    expect(j.keyUsage).toEqual(['Digital_Signature', 'Non_Repudiation']);
    expect(j.extendedKeyUsage).toEqual([EKU.clientAuth, EKU.smartcardLogon]);
    expect(j.subjectAltNames).toEqual({
      dns: ['pc1.contoso.com'],
      email: ['mfatest@contoso.com'],
      upn: ['mfatest@contoso.com'],
      ip: ['10.1.2.3'],
      uri: ['https://contoso.com/u'],
    });
    expect(j.policies).toEqual(['1.3.6.1.4.1.311.21.8.1']);
    expect(j.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(j.authorityKeyId).toBe(lab.intermediate.cert.getExtension('2.5.29.14') ? m.authorityKeyId : null);
    expect(j.sha256).toBe(new X509Certificate(m.der).fingerprint256.replace(/:/g, '').toLowerCase());
    expect(j.sha1).toBe(new X509Certificate(m.der).fingerprint.replace(/:/g, '').toLowerCase());
    expect(j.hasPrivateKey).toBe(true);
    expect(JSON.stringify(j)).not.toMatch(/PRIVATE KEY/);
    const rsaModel = (
      await new DirectorySource(
        (() => {
          const x = tempDir('model-rsa');
          writePem(x, 'r', rsa);
          return x;
        })(),
      ).list()
    )[0]!.model;
    expect(rsaModel.publicKey).toEqual({ type: 'rsa', bits: 2048, curve: null });
  });

  it('certificateUserIds binding strings in Entra format', async () => {
    const d = tempDir('bind');
    writePem(d, 'u', upn);
    const m = (await new DirectorySource(d).list())[0]!.model;
    const ski = m.subjectKeyId!;
    const values = certificateUserIds(m).map((b) => b.value);
    expect(values).toEqual([
      'X509:<I>CN=Tandem Lab Issuing CA,O=Tandem Lab<SR>a1b2c3d4',
      'X509:<S>DC=com,DC=contoso,OU=UserAccounts,CN=mfatest',
      'X509:<I>CN=Tandem Lab Issuing CA,O=Tandem Lab<S>DC=com,DC=contoso,OU=UserAccounts,CN=mfatest',
      `X509:<SKI>${ski}`,
      `X509:<SHA1-PUKEY>${m.publicKeySha1}`,
      'X509:<PN>mfatest@contoso.com',
      'X509:<RFC822>mfatest@contoso.com',
    ]);
    // The lab's SKI is RFC 5280 method 1 (SHA-1 of the subjectPublicKey bits), the same bytes SHA1-PUKEY hashes.
    expect(m.publicKeySha1).toBe(ski);
  });
});
