/**
 * NSS shared databases (what Chrome keeps in ~/.pki/nssdb) made with the real NSS tools:
 * `certutil -N` creates a database with and without a password, `pk12util -i` imports lab
 * identities (RSA and ECDSA, with their issuing CA). The source reads them through softoken,
 * selection picks the certificate and names the source, signatures made inside softoken
 * verify with the certificate's public key (also through the user's signer, as the agent
 * gets them), and the database files are never written.
 */
import { execFileSync } from 'node:child_process';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeStores,
  collectCandidates,
  findSoftoken,
  linuxDefaultStores,
  NssDbSource,
  selectCertificate,
  type CertificateEntry,
  type SecretCallback,
} from '@tandem/certs';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { defaultClientInitialization } from '@tandem/profile';
import { createUserSigner, type UserSigner } from '@tandem/signer';
import {
  EKU,
  issue,
  KU,
  missing,
  standardLab,
  tempDir,
  titled,
  which,
  writeP12,
  type Issued,
  type Lab,
} from '@tandem/testkit';

const SOFTOKEN = findSoftoken();
const skip =
  (which('certutil') && which('pk12util') ? null : 'needs certutil and pk12util (apt-get install libnss3-tools)') ??
  missing('openssl') ??
  (SOFTOKEN ? null : 'needs libsoftokn3.so (apt-get install libnss3)');

const DB_PASSWORD = 'nss db secret';
const P12_PASSWORD = 'p12-pass';

let lab: Lab;
let rsa: Issued;
let ec: Issued;
let work: string;

function nss(tool: 'certutil' | 'pk12util', ...args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** A new SQL database in `dir` (empty password when `password` is null) holding the given identities. */
function makeDb(dir: string, password: string | null, identities: Array<[string, Issued]>): void {
  mkdirSync(dir, { recursive: true });
  const pwFile = join(work, `pw-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`);
  writeFileSync(pwFile, password ?? '', { mode: 0o600 });
  writeFileSync(join(work, 'p12pw'), P12_PASSWORD, { mode: 0o600 });
  nss('certutil', '-N', '-d', `sql:${dir}`, ...(password === null ? ['--empty-password'] : ['-f', pwFile]));
  for (const [name, identity] of identities) {
    const p12 = writeP12(work, name, identity, P12_PASSWORD, [lab.intermediate]);
    nss('pk12util', '-i', p12, '-d', `sql:${dir}`, '-w', join(work, 'p12pw'), '-k', pwFile);
  }
}

const dbFiles = (dir: string): string[] =>
  ['cert9.db', 'key4.db'].map((f) =>
    createHash('sha256')
      .update(readFileSync(join(dir, f)))
      .digest('hex'),
  );

const leaves = (entries: CertificateEntry[]): CertificateEntry[] => entries.filter((e) => !e.model.ca);

describe.skipIf(skip !== null)(titled('NSS database source (certutil/pk12util, softoken)', skip), () => {
  let emptyDb: string;
  let pwDb: string;

  beforeAll(async () => {
    lab = await standardLab('certs-nss');
    const client = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
    rsa = await issue({ subject: 'CN=nss rsa, OU=users, O=Tandem Lab', key: 'rsa2048', ...client }, lab.intermediate);
    ec = await issue({ subject: 'CN=nss ec, OU=users, O=Tandem Lab', key: 'ec256', ...client }, lab.intermediate);
    work = tempDir('certs-nss');
    emptyDb = join(work, "no password's db");
    pwDb = join(work, 'with-password');
    makeDb(emptyDb, null, [
      ['rsa', rsa],
      ['ec', ec],
    ]);
    makeDb(pwDb, DB_PASSWORD, [['rsa-pw', rsa]]);
    // What the tools made: both identities with their keys ("u,u,u"), and the CA without one.
    expect(nss('certutil', '-L', '-d', `sql:${emptyDb}`)).toMatch(/nss rsa.*u,u,u/);
  }, 120_000);

  describe('a database without a password', () => {
    let source: NssDbSource;
    let entries: CertificateEntry[];
    let asked = 0;
    let before: string[];

    beforeAll(async () => {
      before = dbFiles(emptyDb);
      source = new NssDbSource(emptyDb, {
        pin: async () => {
          asked++;
          return null;
        },
      });
      entries = await source.list();
    });
    afterAll(async () => source.close());

    it('lists both identities with their keys, without asking for a password', () => {
      expect(source.diagnostics()).toEqual([]);
      expect(asked).toBe(0);
      expect(source.kind).toBe('nss');
      expect(source.label).toBe(`nss:${emptyDb}`);
      expect(
        leaves(entries)
          .map((e) => e.model.subjectDn)
          .sort(),
      ).toEqual(['CN=nss ec, OU=users, O=Tandem Lab', 'CN=nss rsa, OU=users, O=Tandem Lab']);
      for (const e of leaves(entries)) {
        expect(e.model.key).toEqual({ hasPrivateKey: true, keySource: 'nss', keyProblem: null });
        expect(e.origin.startsWith(`nss:${emptyDb};id=`)).toBe(true);
      }
      // The issuing CA came with the PKCS#12 files: listed, without a key.
      const ca = entries.find((e) => e.model.ca);
      expect(ca?.model.subjectDn).toBe(lab.intermediate.cert.subject);
      expect(ca?.model.key.hasPrivateKey).toBe(false);
    });

    it.each(['sha256', 'sha384'] as const)(
      'signatures made in softoken (%s) verify with the certificate, RSA and ECDSA',
      async (hash) => {
        const types: string[] = [];
        for (const e of leaves(entries)) {
          const signer = await e.signer!();
          expect(signer.keySource).toBe('nss');
          const data = Buffer.from(`MCA challenge ${hash}`);
          const sig = await signer.sign(data, hash);
          const pub = new X509Certificate(e.model.der).publicKey;
          expect(verify(hash, data, { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
          expect(verify(hash, Buffer.from('other data'), { key: pub, dsaEncoding: 'der' }, sig)).toBe(false);
          types.push(signer.keyType);
        }
        expect(types.sort()).toEqual(['ec', 'rsa']);
      },
    );

    it('selection through the user store picks an NSS certificate and names its source', async () => {
      const stores = linuxDefaultStores({
        machineDir: tempDir('nss-no-machine'),
        userDir: tempDir('nss-no-user'),
        ciscoMachineDir: null,
        ciscoUserDir: null,
        nssDb: emptyDb,
      });
      // The same database, held by the source above: one database per process is fine.
      const { candidates, diagnostics } = await collectCandidates(stores, 'user');
      expect(diagnostics).toEqual([]);
      const base = {
        candidates,
        profileInit: defaultClientInitialization(),
        tunnel: 'user' as const,
        platform: 'linux' as const,
        now: new Date(),
      };
      const res = selectCertificate(base);
      expect(res.selected?.model.key.keySource).toBe('nss');
      expect(res.selected?.source).toBe(`nss:${emptyDb}`);
      const verdicts = res.candidates.filter((v) => v.accepted);
      expect(verdicts).toHaveLength(2);
      for (const v of res.candidates) expect(v.source).toBe(`nss:${emptyDb}`);
      // The CA is listed and refused with reasons, like any keyless certificate.
      expect(res.candidates.find((v) => !v.accepted)?.reasons).toContain('no private key');
      // ExcludeFirefoxNSSCertStore leaves the NSS database out, with a reason that says so.
      const excluded = selectCertificate({ ...base, excludedKinds: ['nss'] });
      expect(excluded.selected).toBeNull();
      expect(excluded.candidates[0]!.reasons).toContain(
        'in an NSS database, which the local policy excludes (ExcludeFirefoxNSSCertStore)',
      );
      await closeStores(stores);
    });

    it("TLS credentials are refused: OpenSSL's engine cannot open the database", async () => {
      const err = await leaves(entries)[0]!
        .tlsCredentials()
        .catch((e: unknown) => e);
      expect(isTandemError(err, ErrorCodes.CERT_KEY)).toBe(true);
      expect((err as Error).message).toMatch(/NSS database signs through Tandem's signer only/);
    });

    it('a second database cannot be opened while this one is in use', async () => {
      const other = new NssDbSource(pwDb);
      const err = await other.list().catch((e: unknown) => e);
      expect(isTandemError(err, ErrorCodes.CERT_STORE)).toBe(true);
      expect((err as Error).message).toMatch(/in use with other parameters/);
    });

    it('the database is opened read-only: its files are unchanged', () => {
      expect(dbFiles(emptyDb)).toEqual(before);
    });
  });

  describe('a database with a password (after the first is closed)', () => {
    const requests: Array<{ kind: string; origin: string }> = [];
    const answering =
      (answer: string | null): SecretCallback =>
      async (req) => {
        requests.push(req);
        return answer;
      };
    let source: NssDbSource | undefined;
    afterAll(async () => source?.close());

    it('without the password: the certificate is listed, its key is not usable', async () => {
      source = new NssDbSource(pwDb);
      const list = leaves(await source.list());
      expect(list.map((e) => e.model.subjectDn)).toEqual(['CN=nss rsa, OU=users, O=Tandem Lab']);
      expect(list[0]!.model.key).toMatchObject({
        hasPrivateKey: false,
        keyProblem: 'no private key (token not logged in)',
      });
      expect(list[0]!.signer).toBeNull();
      await source.close();
    });

    it('a wrong password is a diagnostic; the listing goes on without keys', async () => {
      source = new NssDbSource(pwDb, { pin: answering('wrong') });
      const list = leaves(await source.list());
      expect(list[0]!.model.key.hasPrivateKey).toBe(false);
      expect(source.diagnostics()).toEqual([
        { origin: `nss:${pwDb}`, message: expect.stringMatching(/^login failed \(CKR_PIN_INCORRECT\)/) },
      ]);
      await source.close();
    });

    it('with the password (asked as the PIN of nss:<dir>) the key signs', async () => {
      requests.length = 0;
      source = new NssDbSource(pwDb, { pin: answering(DB_PASSWORD) });
      const [entry] = leaves(await source.list());
      expect(requests).toEqual([{ kind: 'pin', origin: `nss:${pwDb}` }]);
      expect(entry!.model.key).toEqual({ hasPrivateKey: true, keySource: 'nss', keyProblem: null });
      expect(entry!.origin).not.toContain(DB_PASSWORD);
      const data = Buffer.from('challenge');
      const sig = await (await entry!.signer!()).sign(data, 'sha512');
      expect(verify('sha512', data, new X509Certificate(entry!.model.der).publicKey, sig)).toBe(true);
    });
  });

  describe("the user's signer (what answers the agent in the user's process)", () => {
    let signer: UserSigner | undefined;
    afterAll(async () => signer?.close());

    it('offers the NSS certificates as store `nss` and signs the challenge inside softoken', async () => {
      signer = createUserSigner({
        userDir: tempDir('nss-signer-user'),
        ciscoUserDir: null,
        nssDb: emptyDb,
        secret: async () => null,
        notify: () => undefined,
      });
      const { certificates } = await signer.handlers['certs.list']({ purpose: 'mca' });
      expect(certificates.map((c) => [c.subject, c.store]).sort()).toEqual([
        ['CN=nss ec, OU=users, O=Tandem Lab', 'nss'],
        ['CN=nss rsa, OU=users, O=Tandem Lab', 'nss'],
      ]);
      for (const c of certificates) {
        const data = Buffer.from(`challenge for ${c.subject}`);
        const { signature } = await signer.handlers['certs.sign']({
          sha256: c.sha256,
          algorithm: 'sha256',
          data: data.toString('base64'),
        });
        const pub = new X509Certificate(Buffer.from(c.der!, 'base64')).publicKey;
        expect(verify('sha256', data, { key: pub, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'))).toBe(true);
      }
    });
  });

  describe('what is not a database', () => {
    it('a missing directory lists nothing, silently', async () => {
      const s = new NssDbSource(join(work, 'absent'));
      expect(await s.list()).toEqual([]);
      expect(s.diagnostics()).toEqual([]);
    });

    it('a legacy cert8.db database is reported, not read', async () => {
      const legacy = join(work, 'legacy');
      mkdirSync(legacy);
      writeFileSync(join(legacy, 'cert8.db'), '');
      const s = new NssDbSource(legacy);
      expect(await s.list()).toEqual([]);
      expect(s.diagnostics()[0]!.message).toMatch(/legacy \(cert8\.db\) NSS database, not read/);
    });
  });
});
