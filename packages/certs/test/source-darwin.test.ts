/**
 * The macOS keychain backend driven through a recording fake of Security.framework
 * (fake-security.ts): which keychain is searched for identities, what a listing yields (store
 * label, origin, kind, key status), how each OSStatus of opening, searching, copying and
 * signing becomes a typed error naming the call and the code, the exact SecKeyAlgorithm and
 * digest SecKeyCreateSignature gets (signatures checked with crypto.verify), and that closing
 * releases every reference exactly once. What only macOS can show runs in
 * .github/workflows/platforms.yml.
 */
import { constants, createHash, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { EKU, issue, KU, standardLab, type Issued, type Lab } from '@tandem/testkit';
import { collectCandidates } from '../src/stores.js';
import { darwinDefaultStores, KeychainSource, loginKeychain, SYSTEM_KEYCHAIN } from '../src/source-darwin.js';
import type { KeychainSigner } from '../src/signer-darwin.js';
import { FakeSecurity, type FakeIdentity } from './fake-security.js';

let lab: Lab;
let rsa: Issued;
let ec: Issued;
const identity = (i: Issued, over: Partial<FakeIdentity> = {}): FakeIdentity => ({
  der: Buffer.from(i.cert.rawData),
  keyPem: i.keyPem,
  ...over,
});
const LOGIN = loginKeychain('/Users/alice');

beforeAll(async () => {
  lab = await standardLab('certs-darwin');
  const spec = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };
  rsa = await issue({ subject: 'CN=mac-rsa', key: 'rsa2048', ...spec }, lab.intermediate);
  ec = await issue({ subject: 'CN=mac-ec', key: 'ec384', ...spec }, lab.intermediate);
});

function fake(system: FakeIdentity[], login: FakeIdentity[] = []): FakeSecurity {
  return new FakeSecurity(
    new Map([
      [SYSTEM_KEYCHAIN, system],
      [LOGIN, login],
    ]),
  );
}

async function signerOf(source: KeychainSource, subject: string): Promise<KeychainSigner> {
  const entry = (await source.list()).find((e) => e.model.subjectDn === subject)!;
  return (await entry.signer!()) as KeychainSigner;
}

describe('KeychainSource: listing', () => {
  it('searches the System keychain alone for identities; each entry is labelled and has its key', async () => {
    const f = fake([identity(rsa), identity(ec)]);
    const source = new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api });
    const entries = await source.list();
    expect(f.calls[0]).toEqual(['SecKeychainOpen', '/Library/Keychains/System.keychain']);
    const keychain = [...f.live].find(([, v]) => v.kind === 'keychain')![0];
    expect(f.calls[1]).toEqual(['SecItemCopyMatching', [keychain]]);
    expect([source.label, source.kind]).toEqual(['keychain:/Library/Keychains/System.keychain', 'keychain']);
    expect(entries.map((e) => [e.model.subjectDn, e.model.key.hasPrivateKey, e.model.key.keySource])).toEqual([
      ['CN=mac-rsa', true, 'keychain'],
      ['CN=mac-ec', true, 'keychain'],
    ]);
    expect(entries[1]!.origin).toBe(`keychain:/Library/Keychains/System.keychain#${entries[1]!.model.sha1}`);
    // The certificate references are released at once; keychain and identities stay until close.
    expect([...f.live.values()].map((v) => v.kind).sort()).toEqual(['identity', 'identity', 'keychain']);
    await source.close();
    expect(f.live.size).toBe(0);
  });

  it('the default stores: the System keychain is the machine store, the login keychain the user store', async () => {
    const f = fake([identity(rsa)], [identity(ec)]);
    const { candidates } = await collectCandidates(darwinDefaultStores({ api: f.api, home: '/Users/alice' }));
    expect(candidates.map((c) => [c.model.subjectDn, c.store, c.source, c.kind])).toEqual([
      ['CN=mac-rsa', 'machine', 'keychain:/Library/Keychains/System.keychain', 'keychain'],
      ['CN=mac-ec', 'user', 'keychain:/Users/alice/Library/Keychains/login.keychain-db', 'keychain'],
    ]);
  });

  it('no identity (errSecItemNotFound) is an empty store, not an error', async () => {
    const source = new KeychainSource(LOGIN, { api: fake([]).api });
    expect(await source.list()).toEqual([]);
    expect(source.diagnostics()).toEqual([]);
  });

  it('a keychain that cannot be opened or searched is E_CERT_STORE naming the call and the OSStatus', async () => {
    const missing = new KeychainSource('/nowhere.keychain', { api: fake([]).api });
    await expect(missing.list()).rejects.toMatchObject({
      code: 'E_CERT_STORE',
      message: 'SecKeychainOpen keychain:/nowhere.keychain: OSStatus -25294 (errSecNoSuchKeychain: no such keychain)',
      details: { call: 'SecKeychainOpen', osStatus: -25294, name: 'errSecNoSuchKeychain' },
    });
    const f = fake([identity(rsa)]);
    f.matchStatus = -25308;
    await expect(new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api }).list()).rejects.toMatchObject({
      code: 'E_CERT_STORE',
      message: expect.stringMatching(
        /^SecItemCopyMatching keychain:\/Library\/Keychains\/System\.keychain: OSStatus -25308 \(errSecInteractionNotAllowed/,
      ),
    });
  });

  it('an identity whose certificate cannot be copied is a diagnostic; the others are listed', async () => {
    const f = fake([identity(rsa, { copyCertificateStatus: -25300 }), identity(ec)]);
    const source = new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api });
    expect((await source.list()).map((e) => e.model.subjectDn)).toEqual(['CN=mac-ec']);
    expect(source.diagnostics()).toEqual([
      {
        origin: `${source.label}#0`,
        message: expect.stringMatching(/^SecIdentityCopyCertificate .*OSStatus -25300 \(errSecItemNotFound/),
      },
    ]);
  });
});

describe('KeychainSource: keys and SecKeyCreateSignature', () => {
  const data = Buffer.from('MCA challenge or a TLS CertificateVerify');
  const signCalls = (f: FakeSecurity): unknown[][] =>
    f.calls.filter(([n]) => n === 'SecKeyCreateSignature').map(([, , algorithm, digest]) => [algorithm, digest]);

  it.each([
    ['errSecInteractionNotAllowed', -25308],
    ['errSecItemNotFound', -25300],
    ['errSecAuthFailed', -25293],
  ])('a key that cannot be copied (%s) is E_CERT_KEY naming SecIdentityCopyPrivateKey', async (name, status) => {
    const f = fake([identity(rsa, { copyKeyStatus: status })]);
    const [entry] = await new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api }).list();
    await expect(entry!.signer!()).rejects.toMatchObject({
      code: 'E_CERT_KEY',
      message: expect.stringContaining(`SecIdentityCopyPrivateKey ${entry!.origin}: OSStatus ${status} (${name}`),
      details: { call: 'SecIdentityCopyPrivateKey', osStatus: status, name },
    });
    await expect(entry!.tlsCredentials()).rejects.toMatchObject({ code: 'E_CERT_KEY' });
  });

  it('RSA PKCS#1 v1.5 and PSS: the digest algorithms, with the digest itself', async () => {
    const f = fake([identity(rsa)]);
    const signer = await signerOf(new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api }), 'CN=mac-rsa');
    const pkcs1 = await signer.sign(data, 'sha256');
    const pss = signer.signSync(data, 'sha512', { scheme: 'pss', saltLength: 64 });
    expect(signCalls(f)).toEqual([
      ['kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA256', createHash('sha256').update(data).digest()],
      ['kSecKeyAlgorithmRSASignatureDigestPSSSHA512', createHash('sha512').update(data).digest()],
    ]);
    expect(verify('sha256', data, rsa.certPem, pkcs1)).toBe(true);
    const pssKey = { key: rsa.certPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 };
    expect(verify('sha512', data, pssKey, pss)).toBe(true);
  });

  it('PSS with a salt other than the digest length is refused before the keychain is asked', async () => {
    const f = fake([identity(rsa)]);
    const signer = await signerOf(new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api }), 'CN=mac-rsa');
    expect(() => signer.signSync(data, 'sha256', { scheme: 'pss', saltLength: 222 })).toThrow(
      expect.objectContaining({ code: 'E_CERT_SIGN', message: expect.stringMatching(/32-byte salt, not 222/) }),
    );
    expect(signCalls(f)).toEqual([]);
  });

  it('ECDSA: the X9.62 digest algorithm for the hash, and its DER signature as it comes', async () => {
    const f = fake([], [identity(ec)]);
    const signer = await signerOf(new KeychainSource(LOGIN, { api: f.api }), 'CN=mac-ec');
    const sig = signer.signSync(data, 'sha384');
    expect(signCalls(f)).toEqual([
      ['kSecKeyAlgorithmECDSASignatureDigestX962SHA384', createHash('sha384').update(data).digest()],
    ]);
    expect(verify('sha384', data, { key: ec.certPem, dsaEncoding: 'der' }, sig)).toBe(true);
  });

  it('a refused signature is E_CERT_SIGN naming SecKeyCreateSignature, the OSStatus and the description', async () => {
    const signError = { code: -25308, description: 'User interaction is not allowed.' };
    const f = fake([identity(ec, { signError })]);
    const signer = await signerOf(new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api }), 'CN=mac-ec');
    await expect(signer.sign(data, 'sha256')).rejects.toMatchObject({
      code: 'E_CERT_SIGN',
      message: expect.stringMatching(
        /^SecKeyCreateSignature keychain:.*: OSStatus -25308 \(errSecInteractionNotAllowed.*\) — User interaction is not allowed\.$/,
      ),
      details: { call: 'SecKeyCreateSignature', osStatus: -25308 },
    });
  });

  it('close releases the keys copied for signing too', async () => {
    const f = fake([identity(rsa), identity(ec)]);
    const source = new KeychainSource(SYSTEM_KEYCHAIN, { api: f.api });
    for (const e of await source.list()) await e.signer!();
    expect([...f.live.values()].filter((v) => v.kind === 'key')).toHaveLength(2);
    await source.close();
    expect(f.live.size).toBe(0);
  });
});
