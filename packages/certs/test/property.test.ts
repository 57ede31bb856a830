/**
 * Property: for random certificates (KU bits or no KU extension, EKU sets or none, validity
 * window, issuing CA) and random CertificateMatch rules, selectCertificate accepts exactly when
 * an independent reference predicate, written from docs/profile.md#certificate-matching alone, accepts.
 *
 * Reading of the rules used by both: `MatchOnlyCertsWithKU/EKU=true` excludes certificates
 * without the extension (the element table's wording, independent of other rules); otherwise a
 * missing extension passes that rule.
 */
import type { webcrypto as WebCrypto } from 'node:crypto';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { CertificateModel, selectCertificate } from '../src/index.js';
import type { KeyUsageName } from '@tandem/profile';
import { issue, KU, type Issued } from '@tandem/testkit';
import { dnRule, init } from './helpers.js';

const RUNS = 1000;
const DAY = 86_400_000;
const KU_TABLE: Array<[KeyUsageName, number]> = [
  ['Digital_Signature', KU.digitalSignature],
  ['Non_Repudiation', KU.nonRepudiation],
  ['Key_Encipherment', KU.keyEncipherment],
  ['Data_Encipherment', KU.dataEncipherment],
  ['Key_Agreement', KU.keyAgreement],
  ['Key_Cert_Sign', KU.keyCertSign],
  ['CRL_Sign', KU.cRLSign],
  ['Encipher_Only', KU.encipherOnly],
  ['Decipher_Only', KU.decipherOnly],
];
const EKU_POOL = [
  '1.3.6.1.5.5.7.3.2',
  '1.3.6.1.5.5.7.3.1',
  '1.3.6.1.5.5.7.3.4',
  '1.3.6.1.4.1.311.20.2.2',
  '1.2.3.4.5.6',
];

interface CertParams {
  ku: KeyUsageName[] | null;
  eku: string[] | null;
  nbDays: number;
  naDays: number;
  ca: 0 | 1;
}
interface RuleParams {
  ku: KeyUsageName[];
  eku: string[];
  onlyKU: boolean;
  onlyEKU: boolean;
  dn: { pattern: string; wildcard: boolean; matchCase: boolean; operator: 'Equal' | 'NotEqual' } | null;
}

const CA_NAMES = ['Alpha Issuing CA', 'Beta Root'];

/** The reference predicate, from docs/profile.md#certificate-matching steps 1–4 only. */
function reference(c: CertParams, r: RuleParams): boolean {
  if (!(c.nbDays <= 0 && c.naDays >= 0)) return false; // step 1: notBefore ≤ now ≤ notAfter
  if (c.ku === null) {
    if (r.onlyKU) return false;
  } else if (r.ku.length > 0 && !r.ku.some((k) => c.ku!.includes(k))) return false;
  if (c.eku === null) {
    if (r.onlyEKU) return false;
  } else if (!r.eku.every((o) => c.eku!.includes(o))) return false;
  if (r.dn) {
    const value = CA_NAMES[c.ca]!;
    const v = r.dn.matchCase ? value : value.toLowerCase();
    const p = r.dn.matchCase ? r.dn.pattern : r.dn.pattern.toLowerCase();
    const hit = r.dn.wildcard ? v.indexOf(p) >= 0 : v === p;
    if (r.dn.operator === 'Equal' ? !hit : hit) return false;
  }
  return true;
}

const certArb: fc.Arbitrary<CertParams> = fc
  .record({
    ku: fc.option(fc.subarray(KU_TABLE.map(([n]) => n)), { nil: null }),
    eku: fc.option(fc.subarray(EKU_POOL), { nil: null }),
    nbDays: fc.integer({ min: -400, max: 30 }),
    naDays: fc.integer({ min: -30, max: 400 }),
    ca: fc.constantFrom(0 as const, 1 as const),
  })
  .filter((c) => c.naDays > c.nbDays);

const ruleArb: fc.Arbitrary<RuleParams> = fc.record({
  ku: fc.subarray(
    KU_TABLE.map(([n]) => n),
    { maxLength: 3 },
  ),
  eku: fc.subarray(EKU_POOL, { maxLength: 2 }),
  onlyKU: fc.boolean(),
  onlyEKU: fc.boolean(),
  dn: fc.option(
    fc.record({
      pattern: fc.constantFrom(
        'Alpha Issuing CA',
        'alpha issuing ca',
        'Issuing',
        'issuing',
        'Beta Root',
        'Root',
        'Gamma',
      ),
      wildcard: fc.boolean(),
      matchCase: fc.boolean(),
      operator: fc.constantFrom('Equal' as const, 'NotEqual' as const),
    }),
    { nil: null },
  ),
});

let cas: Issued[] = [];
let leafKeys: WebCrypto.CryptoKeyPair;

async function makeCert(c: CertParams, now: number): Promise<CertificateModel> {
  const ca = cas[c.ca]!;
  const ext: x509.Extension[] = [];
  if (c.ku !== null)
    ext.push(
      new x509.KeyUsagesExtension(
        c.ku.reduce((acc, n) => acc | KU_TABLE.find(([k]) => k === n)![1], 0),
        true,
      ),
    );
  if (c.eku !== null) ext.push(new x509.ExtendedKeyUsageExtension(c.eku));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=prop, O=Tandem Lab',
    issuer: ca.cert.subject,
    notBefore: new Date(now + c.nbDays * DAY),
    notAfter: new Date(now + c.naDays * DAY),
    publicKey: leafKeys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as WebCrypto.EcdsaParams,
    extensions: ext,
  });
  return new CertificateModel(Buffer.from(cert.rawData), { hasPrivateKey: true, keySource: 'file', keyProblem: null });
}

describe('selection vs reference predicate (fast-check)', () => {
  beforeAll(async () => {
    cas = [
      await issue({ subject: `CN=${CA_NAMES[0]}, O=Tandem Lab`, ca: true }),
      await issue({ subject: `CN=${CA_NAMES[1]}, O=Tandem Lab`, ca: true }),
    ];
    leafKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as WebCrypto.CryptoKeyPair;
  });

  it(`accepts exactly when the reference accepts (${RUNS} runs)`, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(certArb, ruleArb, async (c, r) => {
        // Whole days from a fixed "now" keep validity edges away from the instant of the check.
        const now = Date.UTC(2026, 0, 15, 12);
        const model = await makeCert(c, now);
        const profileInit = init({
          keyUsage: r.ku,
          extendedKeyUsage: r.eku,
          matchOnlyCertsWithKU: r.onlyKU,
          matchOnlyCertsWithEKU: r.onlyEKU,
          distinguishedName: r.dn ? [dnRule('ISSUER-CN', r.dn.pattern, r.dn)] : [],
        });
        const res = selectCertificate({
          candidates: [{ model, store: 'user' }],
          profileInit,
          tunnel: 'user',
          platform: 'linux',
          now: new Date(now),
        });
        const want = reference(c, r);
        if (want) accepted++;
        expect(res.candidates[0]!.accepted).toBe(want);
        expect(res.selected !== null).toBe(want);
        expect(res.candidates[0]!.reasons.length === 0).toBe(want);
      }),
      { numRuns: RUNS },
    );
    // Both outcomes must be exercised for the property to mean something.
    expect(accepted).toBeGreaterThan(RUNS / 20);
    expect(accepted).toBeLessThan(RUNS);
    console.log(`property: ${RUNS} runs, ${accepted} accepted, ${RUNS - accepted} rejected`);
  }, 120_000);
});
