/**
 * The user's signer over a real PEM store: it offers the user's certificates with their
 * intermediates, narrows by the gateway's issuer hints, signs with the key that stays in this
 * process (verified with the certificate's public key), and refuses a thumbprint it never
 * offered with a typed error.
 */
import { createPublicKey, createVerify, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { CERTS_LIST_MAX, validate, contract } from '@tandem/contract';
import { createUserSigner, type UserSigner } from '@tandem/signer';
import { standardLab, writePem, type Lab } from '@tandem/testkit';

describe('the user signer', () => {
  let lab: Lab;
  let signer: UserSigner;
  const notes: string[] = [];

  beforeAll(async () => {
    lab = await standardLab('signer');
    writePem(lab.dir, 'alice', lab.user, [lab.intermediate]);
    signer = createUserSigner({
      userDir: lab.dir,
      nssDb: null,
      ciscoUserDir: null,
      secret: () => Promise.reject(new Error('no secret should be needed')),
      notify: (line) => notes.push(line),
    });
  });
  afterAll(async () => {
    await signer?.close();
    if (lab) rmSync(lab.dir, { recursive: true, force: true });
  });

  it('offers the user certificate with its intermediate, inside the contract', async () => {
    const answer = await signer.handlers['certs.list']({ purpose: 'mca' });
    expect(validate(contract.reverse['certs.list'].result, answer).ok).toBe(true);
    const alice = answer.certificates.find((c) => c.subject.includes('alice'));
    expect(alice).toBeDefined();
    expect(
      new X509Certificate(Buffer.from(alice!.der!, 'base64')).fingerprint256.replaceAll(':', '').toLowerCase(),
    ).toBe(alice!.sha256);
    expect(alice!.chain?.map((b) => new X509Certificate(Buffer.from(b, 'base64')).subject)).toEqual([
      lab.intermediate.cert.subject.split(', ').join('\n'),
    ]);
    expect(answer.certificates.length).toBeLessThanOrEqual(CERTS_LIST_MAX);
    expect(notes.some((n) => n.includes('offering'))).toBe(true);
  });

  it('offers nothing for issuers the certificate does not chain to', async () => {
    const answer = await signer.handlers['certs.list']({ purpose: 'auth', issuers: ['CN=Someone Else CA'] });
    expect(answer.certificates).toEqual([]);
  });

  it('signs with the key in this process; the signature verifies with the certificate', async () => {
    const { certificates } = await signer.handlers['certs.list']({ purpose: 'mca' });
    const alice = certificates.find((c) => c.subject.includes('alice'))!;
    const data = Buffer.from('gateway challenge');
    const { signature } = await signer.handlers['certs.sign']({
      sha256: alice.sha256,
      algorithm: 'sha256',
      data: data.toString('base64'),
    });
    const key = createPublicKey(
      new X509Certificate(Buffer.from(alice.der!, 'base64')).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(createVerify('sha256').update(data).verify(key, Buffer.from(signature, 'base64'))).toBe(true);
  });

  it('refuses to sign for a thumbprint it does not hold', async () => {
    await expect(
      signer.handlers['certs.sign']({ sha256: 'f'.repeat(64), algorithm: 'sha256', data: 'AA==' }),
    ).rejects.toMatchObject({ code: ErrorCodes.CERT_NOT_FOUND });
  });
});
