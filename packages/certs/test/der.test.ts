import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issue, KU } from '@tandem/testkit';
import { CertificateModel } from '../src/index.js';
import { certificateExtensions, ExtensionOid, locateCertificate, oidString, readTlv } from '../src/der.js';

const derOf = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).raw);

describe('DER reader', () => {
  it('reads OIDs, including arcs beyond 32 bits and the 2.x top arc', () => {
    // 2.25.<2^64> (a UUID-style arc) and 1.2.840.113549.1.9.1 (emailAddress).
    const big = Buffer.from('060b6982808080808080808000', 'hex');
    expect(oidString(big, readTlv(big, 0))).toBe('2.25.18446744073709551616');
    const email = Buffer.from('06092a864886f70d010901', 'hex');
    expect(oidString(email, readTlv(email, 0))).toBe('1.2.840.113549.1.9.1');
  });

  it('agrees with node:crypto on names, serial, SAN and CA flag', async () => {
    const ca = await issue({ subject: 'CN=Root, O=Lab', ca: true });
    const leaf = await issue(
      {
        subject: 'CN=Zoë Ω, OU=ops, OU=second, O=Lab',
        keyUsage: KU.digitalSignature | KU.decipherOnly,
        san: [
          { type: 'dns', value: 'h.example' },
          { type: 'ip', value: '2001:db8::1' },
        ],
      },
      ca,
    );
    const node = new X509Certificate(leaf.certPem);
    const m = new CertificateModel(derOf(leaf.certPem));
    expect(m.subject.map((a) => `${a.type}=${a.value}`)).toEqual(['CN=Zoë Ω', 'OU=ops', 'OU=second', 'O=Lab']);
    expect(m.issuerDn).toBe('CN=Root, O=Lab');
    expect(m.serialNumber).toBe(node.serialNumber.toLowerCase());
    expect(m.subjectAltNames.dns).toEqual(['h.example']);
    expect(m.subjectAltNames.ip).toEqual(['2001:db8::1']);
    expect(m.keyUsage).toEqual(['Digital_Signature', 'Decipher_Only']);
    expect(m.ca).toBe(false);
    expect(new CertificateModel(derOf(ca.certPem)).ca).toBe(true);
    expect(m.pem).toBe(node.toString());
    const oids = certificateExtensions(derOf(leaf.certPem)).map((e) => e.oid);
    expect(oids).toContain(ExtensionOid.keyUsage);
  });

  it('fails closed with E_CERT_INVALID on truncation and trailing bytes', async () => {
    const der = derOf((await issue({ subject: 'CN=t' })).certPem);
    expect(() => locateCertificate(der.subarray(0, der.length - 1))).toThrow(
      expect.objectContaining({ code: 'E_CERT_INVALID' }),
    );
    expect(() => new CertificateModel(Buffer.concat([der, Buffer.from([0])]))).toThrow(
      expect.objectContaining({ code: 'E_CERT_INVALID' }),
    );
  });
});

describe('DER reader against mutated certificates', () => {
  it('every byte flip, truncation or insertion either parses or fails with E_CERT_INVALID', async () => {
    const fc = (await import('fast-check')).default;
    const der = derOf((await issue({ subject: 'CN=fuzz, O=Lab', keyUsage: KU.digitalSignature })).certPem);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(der.length - 1), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(der.length - 1), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(der.length - 1), value: fc.nat(255) }),
    );
    let refused = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (edits) => {
        let bytes = Buffer.from(der);
        for (const e of edits) {
          const at = Math.min(e.at, bytes.length - 1);
          if (e.kind === 'flip') bytes[at] = e.value;
          else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
          else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([e.value]), bytes.subarray(at)]);
          if (bytes.length === 0) return;
        }
        try {
          const m = new CertificateModel(bytes);
          void m.toJSON();
        } catch (err) {
          refused++;
          expect((err as { code?: string }).code).toBe('E_CERT_INVALID');
        }
      }),
      { numRuns: 3000 },
    );
    expect(refused).toBeGreaterThan(1000);
  });
});
