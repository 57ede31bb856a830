import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serverKeyUsage } from '../src/key-usage.js';
import { issue, KU } from '@tandem/testkit';

const OID_TLV = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
/**
 * A subject whose CN holds the DER of a KeyUsage extension (OID, OCTET STRING, BIT STRING with
 * keyEncipherment set) and whose OU holds the bare OID bytes: a reader that searches the whole
 * certificate for the OID finds these first.
 */
const DECOY_SUBJECT = 'CN=\x06\x03U\x1d\x0f\x04\x04\x03\x02\x05 x, OU=U\x1d\x0f';

const derOf = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).raw);

describe('serverKeyUsage (DER reader)', () => {
  it('agrees with the X.509 library on generated certificates, critical or not, every bit combination', async () => {
    const masks = fc.sample(fc.integer({ min: 1, max: 0x1ff }), { numRuns: 40, seed: 7 });
    for (const [i, mask] of [
      KU.digitalSignature,
      KU.keyEncipherment,
      KU.keyCertSign | KU.cRLSign,
      KU.decipherOnly,
      ...masks,
    ].entries()) {
      const keyUsageCritical = i % 2 === 0;
      const c = await issue({ subject: `CN=ku-${mask}`, keyUsage: mask, keyUsageCritical });
      expect(c.cert.getExtension('2.5.29.15')?.critical).toBe(keyUsageCritical);
      const got = serverKeyUsage(derOf(c.certPem));
      expect(got).toEqual({
        digitalSignature: (mask & KU.digitalSignature) !== 0,
        keyEncipherment: (mask & KU.keyEncipherment) !== 0,
      });
    }
  });

  it('the KeyUsage bytes inside a subject are not the extension: no extension → null', async () => {
    const c = await issue({ subject: DECOY_SUBJECT });
    const der = derOf(c.certPem);
    // The decoy really is in the DER (twice: issuer and subject), ahead of any extension.
    expect(der.indexOf(OID_TLV)).toBeGreaterThan(0);
    expect(der.indexOf(Buffer.from([0x55, 0x1d, 0x0f]), der.indexOf(OID_TLV) + OID_TLV.length)).toBeGreaterThan(0);
    expect(serverKeyUsage(der)).toBeNull();
  });

  it('with a decoy subject, the real extension is read, critical or not', async () => {
    for (const keyUsageCritical of [true, false]) {
      const c = await issue({ subject: DECOY_SUBJECT, keyUsage: KU.digitalSignature, keyUsageCritical });
      expect(c.cert.getExtension('2.5.29.15')?.critical).toBe(keyUsageCritical);
      // The decoy says keyEncipherment; the extension says digitalSignature only.
      expect(serverKeyUsage(derOf(c.certPem))).toEqual({ digitalSignature: true, keyEncipherment: false });
    }
  });

  it('absent extension → null; malformed certificate or extension value → unreadable', async () => {
    const none = await issue({ subject: 'CN=no-ku' });
    expect(serverKeyUsage(derOf(none.certPem))).toBeNull();
    expect(serverKeyUsage(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f, 0x04, 0x09]))).toBe('unreadable');
    const withKu = await issue({ subject: 'CN=ku', keyUsage: KU.digitalSignature, keyUsageCritical: false });
    const der = derOf(withKu.certPem);
    expect(serverKeyUsage(der.subarray(0, der.length - 200))).toBe('unreadable');
    // Turn the extension's BIT STRING into a NULL-tagged value: the structure no longer matches.
    const bad = Buffer.from(der);
    const at = bad.lastIndexOf(OID_TLV);
    expect(bad[at + 5]).toBe(0x04);
    expect(bad[at + 7]).toBe(0x03);
    bad[at + 7] = 0x05;
    expect(serverKeyUsage(bad)).toBe('unreadable');
  });
});
