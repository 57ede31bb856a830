import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serverKeyUsage } from '../src/key-usage.js';
import { issue, KU } from '../../../test/lib/pki.js';

describe('serverKeyUsage (DER reader)', () => {
  it('agrees with the X.509 library on generated certificates, critical or not, every bit combination', async () => {
    const masks = fc.sample(fc.integer({ min: 1, max: 0x1ff }), { numRuns: 40, seed: 7 });
    for (const mask of [KU.digitalSignature, KU.keyEncipherment, KU.keyCertSign | KU.cRLSign, KU.decipherOnly, ...masks]) {
      const c = await issue({ subject: `CN=ku-${mask}`, keyUsage: mask });
      const got = serverKeyUsage(Buffer.from(new X509Certificate(c.certPem).raw));
      expect(got).toEqual({ digitalSignature: (mask & KU.digitalSignature) !== 0, keyEncipherment: (mask & KU.keyEncipherment) !== 0 });
    }
  });

  it('absent extension → null; truncated extension → unreadable', async () => {
    const none = await issue({ subject: 'CN=no-ku' });
    const der = Buffer.from(new X509Certificate(none.certPem).raw);
    expect(serverKeyUsage(der)).toBeNull();
    const bad = Buffer.concat([Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f, 0x04, 0x09])]);
    expect(serverKeyUsage(bad)).toBe('unreadable');
  });
});
