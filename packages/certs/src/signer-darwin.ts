/**
 * Signing with a key in a macOS keychain: `SecKeyCreateSignature` with a digest computed here
 * and the matching SecKeyAlgorithm — RSA PKCS#1 v1.5 (`…RSASignatureDigestPKCS1v15SHA256`), RSA
 * PSS (`…RSASignatureDigestPSSSHA256`, whose salt is always as long as the digest: what TLS
 * asks for), ECDSA (`…ECDSASignatureDigestX962SHA256`, already DER). The key never leaves the
 * keychain (or the token behind it). The call is synchronous, so the same signer serves MCA
 * (`sign`) and TLS client authentication (`signSync`, inside OpenSSL's handshake).
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import { osStatusError, type CFRef, type SecKeyAlgorithm, type SecurityApi } from './security-api-darwin.js';
import type { SignHash, Signer, SignPadding, SyncSigner } from './signer.js';

const BITS: Record<SignHash, string> = { sha256: '256', sha384: '384', sha512: '512' };

/** The SecKeyAlgorithm for a key type, digest and padding. */
export function secKeyAlgorithm(keyType: 'rsa' | 'ec', hash: SignHash, padding?: SignPadding): SecKeyAlgorithm {
  if (keyType === 'ec') return `kSecKeyAlgorithmECDSASignatureDigestX962SHA${BITS[hash]}` as SecKeyAlgorithm;
  return (
    padding?.scheme === 'pss'
      ? `kSecKeyAlgorithmRSASignatureDigestPSSSHA${BITS[hash]}`
      : `kSecKeyAlgorithmRSASignatureDigestPKCS1v15SHA${BITS[hash]}`
  ) as SecKeyAlgorithm;
}

/** A signer over one SecKeyRef; the source that copied the key releases it. */
export class KeychainSigner implements Signer, SyncSigner {
  readonly keySource = 'keychain';

  /** `origin` names the certificate in errors. */
  constructor(
    private readonly api: SecurityApi,
    private readonly key: CFRef,
    readonly keyType: 'rsa' | 'ec',
    private readonly origin: string,
  ) {}

  /** See {@link Signer.sign}: RSA PKCS#1 v1.5 or DER ECDSA. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    return this.signSync(data, hash);
  }

  /** See {@link SyncSigner.signSync}. Throws E_CERT_SIGN naming SecKeyCreateSignature and the OSStatus. */
  signSync(data: Buffer, hash: SignHash, padding?: SignPadding): Buffer {
    const digest = createHash(hash).update(data).digest();
    if (this.keyType === 'rsa' && padding?.scheme === 'pss' && padding.saltLength !== digest.length)
      throw new TandemError(
        ErrorCodes.CERT_SIGN,
        `${this.origin}: the keychain signs PSS with a ${digest.length}-byte salt, not ${padding.saltLength}`,
      );
    const result = this.api.SecKeyCreateSignature(this.key, secKeyAlgorithm(this.keyType, hash, padding), digest);
    if (result.error) {
      const err = osStatusError(ErrorCodes.CERT_SIGN, 'SecKeyCreateSignature', this.origin, result.error.code);
      if (result.error.description) err.message += ` — ${result.error.description}`;
      throw err;
    }
    return result.signature;
  }
}
