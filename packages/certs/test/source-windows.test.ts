/**
 * The Windows certificate store backend driven through a recording fake of crypt32 and ncrypt
 * (fake-windows.ts): which store is opened with which flags, what a listing yields (store label,
 * origin, key status, kind), how each documented failure code of opening, acquiring and signing
 * becomes a typed error naming the call and the code, the exact padding and flags NCryptSignHash
 * gets, the DER conversion of CNG's raw ECDSA signature (checked with crypto.verify), and that
 * closing frees every handle. What only Windows can show runs in .github/workflows/platforms.yml.
 */
import { constants, createHash, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { EKU, issue, KU, standardLab, type Issued, type Lab } from '@tandem/testkit';
import { collectCandidates } from '../src/stores.js';
import { Crypt32 } from '../src/crypt32-api-windows.js';
import { NCrypt } from '../src/ncrypt-api-windows.js';
import { windowsDefaultStores, WindowsStoreSource } from '../src/source-windows.js';
import type { CngSigner } from '../src/signer-windows.js';
import { FakeWindows, type FakeWinCert } from './fake-windows.js';

const MACHINE = Crypt32.CERT_SYSTEM_STORE_LOCAL_MACHINE;
const USER = Crypt32.CERT_SYSTEM_STORE_CURRENT_USER;
const OPEN = Crypt32.CERT_STORE_OPEN_EXISTING_FLAG | Crypt32.CERT_STORE_READONLY_FLAG;
const ACQUIRE = Crypt32.CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG | Crypt32.CRYPT_ACQUIRE_COMPARE_KEY_FLAG;

let lab: Lab;
let rsa: Issued;
let ec: Issued;
let noKey: Issued;
const cert = (i: Issued, over: Partial<FakeWinCert> = {}): FakeWinCert => ({
  der: Buffer.from(i.cert.rawData),
  keyPem: i.keyPem,
  keyType: i.spec.key === 'rsa2048' ? 'rsa' : 'ec',
  size: i.spec.key === 'rsa2048' ? 256 : 32,
  ...over,
});

beforeAll(async () => {
  lab = await standardLab('certs-windows');
  const spec = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
  rsa = await issue({ subject: 'CN=win-rsa', key: 'rsa2048', ...spec }, lab.intermediate);
  ec = await issue({ subject: 'CN=win-ec', key: 'ec256', ...spec }, lab.intermediate);
  noKey = await issue({ subject: 'CN=win-nokey', ...spec }, lab.intermediate);
});

function fake(machine: FakeWinCert[], user: FakeWinCert[] = []): FakeWindows {
  return new FakeWindows(
    new Map([
      [MACHINE, machine],
      [USER, user],
    ]),
  );
}

async function signerOf(source: WindowsStoreSource, subject: string): Promise<CngSigner> {
  const entry = (await source.list()).find((e) => e.model.subjectDn === subject)!;
  return (await entry.signer!()) as CngSigner;
}

describe('WindowsStoreSource: listing', () => {
  it('opens LocalMachine\\MY read-only, lists every certificate with its key status, closes the store', async () => {
    const f = fake([
      cert(rsa),
      cert(ec),
      cert(noKey, { keyPem: undefined }),
      { ...cert(ec), der: Buffer.from('junk') },
    ]);
    const source = new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt });
    const entries = await source.list();
    expect(f.calls[0]).toEqual(['CertOpenStore', Crypt32.CERT_STORE_PROV_SYSTEM_W, MACHINE | OPEN, 'MY']);
    expect([source.label, source.kind]).toEqual(['cng:LocalMachine\\MY', 'windows']);
    expect(entries.map((e) => [e.model.subjectDn, e.model.key.hasPrivateKey, e.model.key.keySource])).toEqual([
      ['CN=win-rsa', true, 'cng'],
      ['CN=win-ec', true, 'cng'],
      ['CN=win-nokey', false, null],
    ]);
    expect(entries[0]!.origin).toBe(`cng:LocalMachine\\MY\\${entries[0]!.model.sha1.toUpperCase()}`);
    expect(entries[2]!.signer).toBeNull();
    await expect(entries[2]!.tlsCredentials()).rejects.toMatchObject({ code: 'E_CERT_KEY' });
    expect(source.diagnostics()).toEqual([
      { origin: 'cng:LocalMachine\\MY#3', message: expect.stringMatching(/not an X\.509 certificate/) },
    ]);
    // The store handle is closed; only the two certificates with keys keep a context.
    expect(f.openStores.size).toBe(0);
    expect(f.liveContexts.size).toBe(2);
    expect(f.names().filter((n) => n === 'CryptAcquireCertificatePrivateKey')).toEqual([]);
  });

  it('the default stores: LocalMachine\\My is the machine store, CurrentUser\\My the user store', async () => {
    const f = fake([cert(rsa)], [cert(ec)]);
    const stores = windowsDefaultStores({ crypt32: f.crypt32, ncrypt: f.ncrypt });
    const { candidates } = await collectCandidates(stores);
    expect(candidates.map((c) => [c.model.subjectDn, c.store, c.source, c.kind])).toEqual([
      ['CN=win-rsa', 'machine', 'cng:LocalMachine\\MY', 'windows'],
      ['CN=win-ec', 'user', 'cng:CurrentUser\\MY', 'windows'],
    ]);
    expect(f.calls.filter(([n]) => n === 'CertOpenStore').map(([, , flags]) => flags)).toEqual([
      MACHINE | OPEN,
      USER | OPEN,
    ]);
  });

  it('a store that cannot be opened is E_CERT_STORE naming CertOpenStore and the code', async () => {
    const f = fake([]);
    f.openError = 5;
    const source = new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt });
    await expect(source.list()).rejects.toMatchObject({
      code: 'E_CERT_STORE',
      message: 'CertOpenStore cng:LocalMachine\\MY: 0x00000005 (ERROR_ACCESS_DENIED: access denied)',
      details: { call: 'CertOpenStore', status: 5, name: 'ERROR_ACCESS_DENIED' },
    });
    // An enumeration cut short by another code is reported, and what was read still counts.
    const g = fake([cert(rsa)]);
    g.enumEnd = 0x80090026;
    const s = new WindowsStoreSource('machine', { crypt32: g.crypt32, ncrypt: g.ncrypt });
    expect(await s.list()).toHaveLength(1);
    expect(s.diagnostics()[0]!.message).toMatch(/CertEnumCertificatesInStore .*0x80090026 \(NTE_INVALID_HANDLE\)/);
  });
});

describe('WindowsStoreSource: keys', () => {
  it('the machine store acquires silently (the agent is a service), the user store may prompt', async () => {
    for (const [location, silent] of [
      ['machine', Crypt32.CRYPT_ACQUIRE_SILENT_FLAG],
      ['user', 0],
    ] as const) {
      const f = location === 'machine' ? fake([cert(rsa)]) : fake([], [cert(rsa)]);
      const source = new WindowsStoreSource(location, { crypt32: f.crypt32, ncrypt: f.ncrypt });
      await signerOf(source, 'CN=win-rsa');
      const acquire = f.calls.find(([n]) => n === 'CryptAcquireCertificatePrivateKey')!;
      expect(acquire[2]).toBe(ACQUIRE | silent);
    }
  });

  it.each([
    ['NTE_SILENT_CONTEXT', 0x80090022, 'the key needs a prompt'],
    ['NTE_BAD_KEYSET', 0x80090016, 'the private key is missing'],
    ['NTE_PERM', 0x80090010, 'this account may not use the key'],
    ['CRYPT_E_NO_KEY_PROPERTY', 0x8009200b, 'the certificate has no private key'],
    ['SCARD_W_CANCELLED_BY_USER', 0x8010006e, 'the user cancelled the PIN prompt'],
  ])('a key that cannot be opened (%s) is E_CERT_KEY naming the call and the code', async (name, code, meaning) => {
    const f = fake([cert(rsa, { acquireError: code })]);
    const source = new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt });
    const [entry] = await source.list();
    const hex = `0x${code.toString(16)}`;
    await expect(entry!.signer!()).rejects.toMatchObject({
      code: 'E_CERT_KEY',
      message: expect.stringContaining(
        `CryptAcquireCertificatePrivateKey ${entry!.origin}: ${hex} (${name}: ${meaning}`,
      ),
      details: { call: 'CryptAcquireCertificatePrivateKey', status: code, name },
    });
    await expect(entry!.tlsCredentials()).rejects.toMatchObject({ code: 'E_CERT_KEY' });
    // Not remembered: every attempt asks again (a card inserted later is found).
    expect(f.names().filter((n) => n === 'CryptAcquireCertificatePrivateKey')).toHaveLength(2);
  });

  it('close frees every acquired key and every kept certificate context', async () => {
    const f = fake([cert(rsa), cert(ec)]);
    const source = new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt });
    const entries = await source.list();
    for (const e of entries) await e.signer!();
    await entries[0]!.signer!(); // acquired once per certificate
    expect(f.liveKeys.size).toBe(2);
    await source.close();
    expect([f.liveKeys.size, f.liveContexts.size, f.openStores.size]).toEqual([0, 0, 0]);
    expect(f.names().filter((n) => n === 'NCryptFreeObject')).toHaveLength(2);
  });
});

describe('CngSigner: NCryptSignHash', () => {
  const data = Buffer.from('MCA challenge or a TLS CertificateVerify');
  const signCalls = (f: FakeWindows): unknown[][] =>
    f.calls.filter(([n]) => n === 'NCryptSignHash').map((c) => c.slice(2));

  it('RSA PKCS#1 v1.5: BCRYPT_PAD_PKCS1 with the digest algorithm, size query first, silent on the machine store', async () => {
    const f = fake([cert(rsa)]);
    const signer = await signerOf(
      new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt }),
      'CN=win-rsa',
    );
    const sig = await signer.sign(data, 'sha256');
    const digest = createHash('sha256').update(data).digest();
    const flags = NCrypt.BCRYPT_PAD_PKCS1 | NCrypt.NCRYPT_SILENT_FLAG;
    expect(signCalls(f)).toEqual([
      [{ kind: 'pkcs1', algorithm: 'SHA256' }, digest, null, flags],
      [{ kind: 'pkcs1', algorithm: 'SHA256' }, digest, 'buffer', flags],
    ]);
    expect(verify('sha256', data, rsa.certPem, sig)).toBe(true);
  });

  it('RSA PSS: BCRYPT_PAD_PSS with the salt length OpenSSL asked for', async () => {
    const f = fake([], [cert(rsa)]);
    const signer = await signerOf(
      new WindowsStoreSource('user', { crypt32: f.crypt32, ncrypt: f.ncrypt }),
      'CN=win-rsa',
    );
    const sig = signer.signSync(data, 'sha384', { scheme: 'pss', saltLength: 48 });
    expect(signCalls(f)[1]).toEqual([
      { kind: 'pss', algorithm: 'SHA384', saltBytes: 48 },
      createHash('sha384').update(data).digest(),
      'buffer',
      NCrypt.BCRYPT_PAD_PSS,
    ]);
    const key = { key: rsa.certPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 };
    expect(verify('sha384', data, key, sig)).toBe(true);
  });

  it("ECDSA: no padding structure, and CNG's raw r‖s becomes DER", async () => {
    const f = fake([cert(ec)]);
    const signer = await signerOf(
      new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt }),
      'CN=win-ec',
    );
    const sig = signer.signSync(data, 'sha256');
    expect(signCalls(f)[1]).toEqual([
      null,
      createHash('sha256').update(data).digest(),
      'buffer',
      NCrypt.NCRYPT_SILENT_FLAG,
    ]);
    expect(sig[0]).toBe(0x30);
    expect(verify('sha256', data, { key: ec.certPem, dsaEncoding: 'der' }, sig)).toBe(true);
  });

  it.each([
    ['NTE_SILENT_CONTEXT', 0x80090022, true],
    ['NTE_BAD_KEY_STATE', 0x8009000b, false],
    ['SCARD_E_NO_SMARTCARD', 0x8010000c, false],
  ])(
    'a signature refused with %s is E_CERT_SIGN naming NCryptSignHash and the code',
    async (name, status, onSizeQuery) => {
      const f = fake([cert(rsa, { signError: { status, onSizeQuery } })]);
      const signer = await signerOf(
        new WindowsStoreSource('machine', { crypt32: f.crypt32, ncrypt: f.ncrypt }),
        'CN=win-rsa',
      );
      expect(() => signer.signSync(data, 'sha256')).toThrow(
        expect.objectContaining({
          code: 'E_CERT_SIGN',
          message: expect.stringMatching(
            new RegExp(`^NCryptSignHash cng:LocalMachine\\\\MY\\\\[0-9A-F]{40}: 0x${status.toString(16)} \\(${name}`),
          ),
          details: { call: 'NCryptSignHash', status, name },
        }),
      );
      await expect(signer.sign(data, 'sha256')).rejects.toMatchObject({ code: 'E_CERT_SIGN' });
    },
  );
});
