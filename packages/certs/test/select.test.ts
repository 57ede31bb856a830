/**
 * Selection matrix: client-certificate variants generated at test time, each read back through
 * the directory source and run through selectCertificate alone (right verdict, exact reasons,
 * right winner) and all together (right winner among many).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { join } from 'node:path';
import {
  collectCandidates,
  DirectorySource,
  selectCertificate,
  compareCandidates,
  storeKindOfKeySource,
  type SelectionCandidate,
  type SelectionInput,
  type StoreLabel,
} from '../src/index.js';
import type { CertificateMatch, ClientInitialization } from '@tandem/profile';
import { issue, standardLab, KU, EKU, tempDir, type Issued, type Lab, type CertSpec } from '@tandem/testkit';
import { candidateFrom, dnRule, init, type KeyMode } from './helpers.js';

const CUSTOM_EKU = '1.3.6.1.4.1.99999.7.1';
const DAY = 86_400_000;
const GOOD = { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] };

interface Row {
  name: string;
  spec: Partial<CertSpec>;
  /** Which CA issues it (default: the lab's intermediate). */
  issuer?: 'intermediate' | 'rogue' | 'dcCa';
  store?: StoreLabel;
  key?: KeyMode;
  profile?: ClientInitialization;
  tunnel?: 'user' | 'machine';
  platform?: 'linux' | 'win32' | 'darwin';
  trusted?: boolean;
  hints?: string[];
  reasons: string[];
}

const match = (m: Partial<CertificateMatch>): ClientInitialization => init(m);
const dnMatch = (...rules: ReturnType<typeof dnRule>[]): ClientInitialization =>
  init({ keyUsage: ['Digital_Signature'], extendedKeyUsage: [EKU.clientAuth], distinguishedName: rules });

const ROWS: Row[] = [
  { name: 'good ECDSA P-256, default rules', spec: { ...GOOD, key: 'ec256' }, reasons: [] },
  { name: 'good RSA-2048', spec: { ...GOOD, key: 'rsa2048' }, reasons: [] },
  { name: 'good RSA-4096', spec: { ...GOOD, key: 'rsa4096' }, reasons: [] },
  {
    name: 'expired',
    spec: { ...GOOD, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') },
    reasons: ['expired on 2021-01-01'],
  },
  {
    name: 'not yet valid',
    spec: { ...GOOD, notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2031-01-01T00:00:00Z') },
    reasons: ['not valid before 2030-01-01'],
  },
  { name: 'no private key', spec: GOOD, key: 'none', reasons: ['no private key'] },
  {
    name: "wrong key (someone else's key beside the cert)",
    spec: GOOD,
    key: 'other',
    reasons: ['private key does not match the certificate'],
  },
  {
    name: 'no digitalSignature',
    spec: { keyUsage: KU.keyEncipherment, eku: [EKU.clientAuth], key: 'rsa2048' },
    reasons: ['KeyUsage Digital_Signature missing'],
  },
  {
    name: 'no clientAuth',
    spec: { keyUsage: KU.digitalSignature, eku: [EKU.serverAuth] },
    reasons: ['EKU clientAuth missing'],
  },
  {
    name: 'KU OR: Non_Repudiation alone satisfies [Digital_Signature, Non_Repudiation]',
    spec: { keyUsage: KU.nonRepudiation, eku: [EKU.clientAuth] },
    profile: match({ keyUsage: ['Digital_Signature', 'Non_Repudiation'] }),
    reasons: [],
  },
  {
    name: 'KU OR: none of two listed',
    spec: { keyUsage: KU.keyAgreement, eku: [EKU.clientAuth] },
    profile: match({ keyUsage: ['Digital_Signature', 'Non_Repudiation'] }),
    reasons: ['KeyUsage Digital_Signature or Non_Repudiation missing'],
  },
  {
    name: 'custom-OID EKU present (AND with ClientAuth)',
    spec: { keyUsage: KU.digitalSignature, eku: [EKU.clientAuth, CUSTOM_EKU] },
    profile: match({ extendedKeyUsage: [EKU.clientAuth, CUSTOM_EKU], customExtendedKeyUsage: [CUSTOM_EKU] }),
    reasons: [],
  },
  {
    name: 'custom-OID EKU missing',
    spec: GOOD,
    profile: match({ extendedKeyUsage: [EKU.clientAuth, CUSTOM_EKU], customExtendedKeyUsage: [CUSTOM_EKU] }),
    reasons: [`EKU ${CUSTOM_EKU} missing`],
  },
  {
    name: 'DN CN Equal exact, MatchCase',
    spec: { ...GOOD, subject: 'CN=Alice Smith, OU=staff, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', 'Alice Smith')),
    reasons: [],
  },
  {
    name: 'DN CN Equal, case differs, MatchCase Enabled',
    spec: { ...GOOD, subject: 'CN=alice smith, OU=staff, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', 'Alice Smith')),
    reasons: ["DN rule CN Equal 'Alice Smith' not met"],
  },
  {
    name: 'DN CN Equal, case differs, MatchCase Disabled',
    spec: { ...GOOD, subject: 'CN=alice smith, OU=staff, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', 'Alice Smith', { matchCase: false })),
    reasons: [],
  },
  {
    name: 'DN CN Wildcard substring met',
    spec: { ...GOOD, subject: 'CN=host7.corp.example, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', '.corp', { wildcard: true })),
    reasons: [],
  },
  {
    name: 'DN CN Wildcard (no glob: "*" is literal)',
    spec: { ...GOOD, subject: 'CN=host7.corp.example, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', '*.corp', { wildcard: true })),
    reasons: ["DN rule CN Equal '*.corp' wildcard not met"],
  },
  {
    name: 'DN Wildcard without MatchCase',
    spec: { ...GOOD, subject: 'CN=HOST7.CORP.example, O=Tandem Lab' },
    profile: dnMatch(dnRule('CN', '.corp.', { wildcard: true, matchCase: false })),
    reasons: [],
  },
  {
    name: 'DN OU NotEqual, value present',
    spec: { ...GOOD, subject: 'CN=bob, OU=contractors, O=Tandem Lab' },
    profile: dnMatch(dnRule('OU', 'contractors', { operator: 'NotEqual' })),
    reasons: ["DN rule OU NotEqual 'contractors' not met"],
  },
  {
    name: 'DN OU NotEqual, other value',
    spec: { ...GOOD, subject: 'CN=bob, OU=staff, O=Tandem Lab' },
    profile: dnMatch(dnRule('OU', 'contractors', { operator: 'NotEqual' })),
    reasons: [],
  },
  {
    name: 'DN NotEqual wildcard on multi-valued OU (any value matching fails it)',
    spec: { ...GOOD, subject: 'CN=bob, OU=staff, OU=external-contractors, O=Tandem Lab' },
    profile: dnMatch(dnRule('OU', 'contract', { operator: 'NotEqual', wildcard: true })),
    reasons: ["DN rule OU NotEqual 'contract' wildcard not met"],
  },
  {
    name: 'DN absent attribute: NotEqual holds, Equal fails',
    spec: { ...GOOD, subject: 'CN=bob, O=Tandem Lab' },
    profile: dnMatch(dnRule('OU', 'x', { operator: 'NotEqual' }), dnRule('L', 'Paris')),
    reasons: ["DN rule L Equal 'Paris' not met"],
  },
  {
    name: 'DN multi-valued ISSUER-DC, one rule per value',
    spec: GOOD,
    issuer: 'dcCa',
    profile: dnMatch(dnRule('ISSUER-DC', 'lab'), dnRule('ISSUER-DC', 'test'), dnRule('ISSUER-CN', 'DC Issuing CA')),
    reasons: [],
  },
  {
    name: 'DN ISSUER-CN mismatch',
    spec: GOOD,
    profile: dnMatch(dnRule('ISSUER-CN', 'Example Corp Issuing CA')),
    reasons: ["DN rule ISSUER-CN Equal 'Example Corp Issuing CA' not met"],
  },
  {
    name: 'DN EA (PKCS#9 emailAddress) Equal',
    spec: { ...GOOD, subject: 'CN=carol, E=carol@lab.test, O=Tandem Lab' },
    profile: dnMatch(dnRule('EA', 'carol@lab.test')),
    reasons: [],
  },
  {
    name: 'user-store cert for the machine tunnel',
    spec: GOOD,
    store: 'user',
    tunnel: 'machine',
    reasons: ['in user store but the machine tunnel uses the machine store'],
  },
  { name: 'machine-store cert for the machine tunnel', spec: GOOD, store: 'machine', tunnel: 'machine', reasons: [] },
  {
    name: 'Linux CertificateStoreLinux=User refuses machine store',
    spec: GOOD,
    store: 'machine',
    profile: init(null, { storeLinux: 'User' }),
    reasons: ['in machine store but CertificateStoreLinux is User'],
  },
  {
    name: 'Linux CertificateStoreLinux=Machine refuses user store',
    spec: GOOD,
    store: 'user',
    profile: init(null, { storeLinux: 'Machine' }),
    reasons: ['in user store but CertificateStoreLinux is Machine'],
  },
  {
    name: 'Windows machine store without CertificateStoreOverride',
    spec: GOOD,
    store: 'machine',
    platform: 'win32',
    profile: init(null, { store: 'All', override: false }),
    reasons: ['in machine store but CertificateStoreOverride is false'],
  },
  {
    name: 'Windows machine store with CertificateStoreOverride',
    spec: GOOD,
    store: 'machine',
    platform: 'win32',
    profile: init(null, { store: 'All', override: true }),
    reasons: [],
  },
  {
    name: 'macOS CertificateStoreMac=Login refuses System',
    spec: GOOD,
    store: 'machine',
    platform: 'darwin',
    profile: init(null, { storeMac: 'Login' }),
    reasons: ['in machine store but CertificateStoreMac is Login'],
  },
  {
    name: 'untrusted issuer (rogue CA) with known CAs',
    spec: GOOD,
    issuer: 'rogue',
    trusted: true,
    reasons: ['issuer not trusted'],
  },
  { name: 'trusted issuer via intermediate', spec: GOOD, trusted: true, reasons: [] },
  {
    name: 'issuer-hint mismatch',
    spec: GOOD,
    hints: ['CN=Some Other CA, O=Elsewhere'],
    reasons: ["issuer not in the gateway's CA list"],
  },
  {
    name: 'issuer-hint match (spacing and case ignored)',
    spec: GOOD,
    hints: ['cn=Tandem Lab Issuing CA,o=Tandem Lab'],
    reasons: [],
  },
  {
    name: 'MatchOnlyCertsWithKU: no KU extension rejected',
    spec: { eku: [EKU.clientAuth] },
    profile: match({ keyUsage: ['Digital_Signature'], matchOnlyCertsWithKU: true }),
    reasons: ['no KeyUsage extension (MatchOnlyCertsWithKU is true)'],
  },
  {
    name: 'MatchOnlyCertsWithKU false: no KU extension passes the KU rule',
    spec: { eku: [EKU.clientAuth] },
    profile: match({ keyUsage: ['Digital_Signature'] }),
    reasons: [],
  },
  {
    name: 'MatchOnlyCertsWithEKU: no EKU extension rejected',
    spec: { keyUsage: KU.digitalSignature },
    profile: match({ extendedKeyUsage: [EKU.clientAuth], matchOnlyCertsWithEKU: true }),
    reasons: ['no ExtendedKeyUsage extension (MatchOnlyCertsWithEKU is true)'],
  },
  {
    name: 'MatchOnlyCertsWithEKU false: no EKU extension passes the EKU rule',
    spec: { keyUsage: KU.digitalSignature },
    profile: match({ extendedKeyUsage: [EKU.clientAuth] }),
    reasons: [],
  },
  {
    name: '[unverified default] no CertificateMatch = KU Digital_Signature + EKU ClientAuth: codeSigning-only cert rejected',
    spec: { keyUsage: KU.digitalSignature, eku: [EKU.codeSigning] },
    profile: init(null),
    reasons: ['EKU clientAuth missing'],
  },
  {
    name: 'several reasons at once',
    spec: {
      keyUsage: KU.keyEncipherment,
      eku: [EKU.serverAuth],
      notBefore: new Date('2019-06-01T00:00:00Z'),
      notAfter: new Date('2020-06-01T00:00:00Z'),
    },
    key: 'none',
    reasons: [
      'no private key',
      'expired on 2020-06-01',
      'KeyUsage Digital_Signature missing',
      'EKU clientAuth missing',
    ],
  },
];

let lab: Lab;
let rogue: Issued;
let dcCa: Issued;
let other: Issued;
const built = new Map<string, SelectionCandidate>();
const dir = tempDir('certs-select');

function inputFor(row: Row, candidates: SelectionCandidate[]): SelectionInput {
  return {
    candidates,
    profileInit: row.profile ?? init(null),
    tunnel: row.tunnel ?? 'user',
    platform: row.platform ?? 'linux',
    now: new Date(),
    ...(row.trusted
      ? { trustedCAs: [built.get('#root')!.model], intermediates: [built.get('#intermediate')!.model] }
      : {}),
    ...(row.hints ? { issuerHints: row.hints } : {}),
  };
}

beforeAll(async () => {
  lab = await standardLab('certs-select-lab');
  rogue = await issue({ subject: 'CN=Tandem Lab Issuing CA, O=Tandem Lab', ca: true, keyUsage: KU.keyCertSign });
  dcCa = await issue({ subject: 'CN=DC Issuing CA, DC=lab, DC=test', ca: true, keyUsage: KU.keyCertSign }, lab.root);
  other = await issue({ subject: 'CN=someone else', ...GOOD }, lab.intermediate);
  built.set('#root', await candidateFrom(dir, 'root', lab.root, 'machine', 'none', other));
  built.set('#intermediate', await candidateFrom(dir, 'intermediate', lab.intermediate, 'machine', 'none', other));
  await Promise.all(
    ROWS.map(async (row, i) => {
      const ca = row.issuer === 'rogue' ? rogue : row.issuer === 'dcCa' ? dcCa : lab.intermediate;
      const issued = await issue({ subject: `CN=row${i}, OU=matrix, O=Tandem Lab`, ...row.spec }, ca);
      built.set(row.name, await candidateFrom(dir, `row${i}`, issued, row.store ?? 'user', row.key ?? 'own', other));
    }),
  );
}, 120_000);

describe('selection matrix (each variant alone)', () => {
  it(`has at least 15 client certificate variants (${ROWS.length})`, () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(15);
  });

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const cand = built.get(row.name)!;
    const res = selectCertificate(inputFor(row, [cand]));
    expect(res.candidates).toHaveLength(1);
    expect(res.candidates[0]!.reasons).toEqual(row.reasons);
    expect(res.candidates[0]!.accepted).toBe(row.reasons.length === 0);
    // 0 wrong selections: the winner is the candidate exactly when it was accepted.
    expect(res.selected?.model.sha256 ?? null).toBe(row.reasons.length === 0 ? cand.model.sha256 : null);
  });
});

describe('selection among many', () => {
  it('default profile, user tunnel: picks an accepted certificate and rejects every other with reasons', () => {
    const row: Row = { name: 'all', spec: {}, reasons: [] };
    const cands = ROWS.map((r) => built.get(r.name)!);
    const res = selectCertificate(inputFor(row, cands));
    // Rows accepted on their own may also be accepted here (no trust anchors or hints are
    // given): the winner must be accepted, and no other accepted one may outrank it (the
    // certificates are issued one after another, so which one is latest is not fixed).
    expect(res.selected).not.toBeNull();
    const winner = res.selected!.model;
    const accepted = new Set(res.candidates.filter((v) => v.accepted).map((v) => v.sha256));
    expect(accepted.has(winner.sha256)).toBe(true);
    for (const c of cands) {
      if (c !== res.selected && accepted.has(c.model.sha256))
        expect(c.model.notAfter.getTime()).toBeLessThanOrEqual(winner.notAfter.getTime());
    }
    expect(accepted.has(built.get('good ECDSA P-256, default rules')!.model.sha256)).toBe(true);
    for (const v of res.candidates) if (!v.accepted) expect(v.reasons.length).toBeGreaterThan(0);
  });

  it('a CertificateMatch rule the parser could not understand fails closed: nothing is selected', () => {
    const good = built.get('good ECDSA P-256, default rules')!;
    const ci = init({
      keyUsage: ['Digital_Signature'],
      unusableRules: ['line 20: unknown extended key usage "ClientAuthh"'],
    });
    const res = selectCertificate({
      candidates: [good],
      profileInit: ci,
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
    });
    expect(res.selected).toBeNull();
    expect(res.candidates[0]!.reasons).toContain(
      'profile CertificateMatch rule not understood (line 20: unknown extended key usage "ClientAuthh")',
    );
  });

  it('local policy store exclusion: PEM-file certificates are refused with the reason, a token one is not, an unknown kind fails closed', async () => {
    const good = built.get('good ECDSA P-256, default rules')!;
    // collectCandidates labels each candidate with its source's kind.
    const listed = await collectCandidates({ machine: [], user: [new DirectorySource(join(dir, 'row0'))] }, 'user');
    expect(listed.candidates.map((c) => c.kind)).toEqual(['pem-file']);
    const onToken: SelectionCandidate = { ...good, kind: 'pkcs11' };
    const unknown: SelectionCandidate = { ...good, kind: null };
    const base = { profileInit: init(null), tunnel: 'user' as const, platform: 'linux' as const, now: new Date() };
    const open = selectCertificate({ ...base, candidates: [good, onToken, unknown] });
    expect(open.candidates.every((v) => v.accepted)).toBe(true);
    const res = selectCertificate({ ...base, candidates: [good, onToken, unknown], excludedKinds: ['pem-file'] });
    expect(res.candidates.map((v) => v.reasons)).toEqual([
      ['in the PEM file store, which the local policy excludes (ExcludePemFileCertStore)'],
      [],
      ['its store kind is unknown and the local policy excludes certificate stores'],
    ]);
    expect(res.selected).toBe(onToken);
    // The machine tunnel's selection applies it too: a directory machine store then offers nothing.
    const machine = selectCertificate({
      ...base,
      tunnel: 'machine',
      candidates: [{ ...good, store: 'machine' }],
      excludedKinds: ['pem-file'],
    });
    expect(machine.selected).toBeNull();
  });

  it('ExcludeFirefoxNSSCertStore: an NSS-database certificate (also one reported by the key source `nss`) is refused, others stay', () => {
    const good = built.get('good ECDSA P-256, default rules')!;
    const fromNss: SelectionCandidate = { ...good, kind: 'nss', source: 'nss:/home/u/.pki/nssdb' };
    // The user's process reports only where the key lives; `nss` implies the store kind.
    const reported: SelectionCandidate = {
      ...good,
      kind: storeKindOfKeySource('nss'),
      model: good.model.withKey({ hasPrivateKey: true, keySource: 'nss', keyProblem: null }),
    };
    const base = { profileInit: init(null), tunnel: 'user' as const, platform: 'linux' as const, now: new Date() };
    const res = selectCertificate({ ...base, candidates: [fromNss, reported, good], excludedKinds: ['nss'] });
    const nssReason = 'in an NSS database, which the local policy excludes (ExcludeFirefoxNSSCertStore)';
    expect(res.candidates.map((v) => v.reasons)).toEqual([[nssReason], [nssReason], []]);
    // The verdict names the source the certificate came from.
    expect(res.candidates[0]!.source).toBe('nss:/home/u/.pki/nssdb');
    expect(res.candidates[2]!.source).toBeUndefined();
    expect(res.selected).toBe(good);
  });

  it('machine tunnel never takes a user-store certificate, even when it is the only valid one', () => {
    const userGood = built.get('good ECDSA P-256, default rules')!;
    const res = selectCertificate({
      candidates: [userGood],
      profileInit: init(null, { storeLinux: 'All' }),
      tunnel: 'machine',
      platform: 'linux',
      now: new Date(),
    });
    expect(res.selected).toBeNull();
  });

  it('ranking: latest notAfter, then latest notBefore, then own store, then SHA-256 ascending', async () => {
    const now = Date.now();
    const mk = async (name: string, nb: number, na: number, store: StoreLabel): Promise<SelectionCandidate> =>
      candidateFrom(
        dir,
        `rank-${name}`,
        await issue(
          {
            subject: `CN=rank-${name}`,
            ...GOOD,
            notBefore: new Date(now - nb * DAY),
            notAfter: new Date(now + na * DAY),
          },
          lab.intermediate,
        ),
        store,
        'own',
        other,
      );
    const a = await mk('a', 10, 100, 'user');
    const b = await mk('b', 10, 200, 'user'); // longest remaining validity
    const c = await mk('c', 5, 200, 'user'); // same notAfter day as b, later notBefore
    const res = selectCertificate({
      candidates: [a, b, c],
      profileInit: init(null),
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
    });
    const na = (x: SelectionCandidate): number => x.model.notAfter.getTime();
    const expected = [a, b, c].sort(
      (x, y) => na(y) - na(x) || y.model.notBefore.getTime() - x.model.notBefore.getTime(),
    )[0]!;
    expect(res.selected!.model.sha256).toBe(expected.model.sha256);
    // Store and hash tie-breaks on identical validity: same certificate offered from both stores.
    const twin: SelectionCandidate = { ...a, store: 'machine' };
    expect(compareCandidates(a, twin, { tunnel: 'user' })).toBeLessThan(0);
    expect(compareCandidates(a, twin, { tunnel: 'machine' })).toBeGreaterThan(0);
    const ab = [a, { ...b, model: b.model }].map((x) => ({
      ...x,
      model: Object.assign(Object.create(Object.getPrototypeOf(x.model)), x.model, {
        notAfter: a.model.notAfter,
        notBefore: a.model.notBefore,
      }),
    }));
    const sorted = [...ab].sort((x, y) => compareCandidates(x, y, { tunnel: 'user' }));
    expect(sorted.map((x) => x.model.sha256)).toEqual([...ab.map((x) => x.model.sha256)].sort());
    // The remembered thumbprint wins over validity.
    const pref = selectCertificate({
      candidates: [a, b, c],
      profileInit: init(null),
      tunnel: 'user',
      platform: 'linux',
      now: new Date(),
      preferredThumbprint: a.model.sha1.toUpperCase(),
    });
    expect(pref.selected!.model.sha256).toBe(a.model.sha256);
  });

  it('AutomaticCertSelection=false is reported for the user tunnel, never for the machine tunnel', () => {
    const good = built.get('machine-store cert for the machine tunnel')!;
    expect(
      selectCertificate({
        candidates: [good],
        profileInit: init(null, { automatic: false }),
        tunnel: 'user',
        platform: 'linux',
        now: new Date(),
      }).automatic,
    ).toBe(false);
    expect(
      selectCertificate({
        candidates: [good],
        profileInit: init(null, { automatic: false }),
        tunnel: 'machine',
        platform: 'linux',
        now: new Date(),
      }).automatic,
    ).toBe(true);
  });
});
