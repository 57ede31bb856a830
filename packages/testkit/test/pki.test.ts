import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { standardLab, issue, KU, EKU } from '../src/pki.js';

describe('test PKI', () => {
  it('issues a chain that node:crypto verifies, with the requested fields', async () => {
    const lab = await standardLab('pkitest');
    const user = new X509Certificate(lab.user.certPem);
    const inter = new X509Certificate(lab.intermediate.certPem);
    const root = new X509Certificate(lab.root.certPem);
    expect(user.checkIssued(inter)).toBe(true);
    expect(user.verify(inter.publicKey)).toBe(true);
    expect(inter.verify(root.publicKey)).toBe(true);
    expect(user.subject).toContain('CN=alice');
    expect(user.keyUsage).toEqual([EKU.clientAuth]);
    expect(user.subjectAltName).toContain('email:alice@lab.test');
  });

  it('honours a validity window in the past', async () => {
    const c = await issue({
      subject: 'CN=old',
      keyUsage: KU.digitalSignature,
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    });
    expect(new X509Certificate(c.certPem).validTo).toContain('2021');
  });
});
