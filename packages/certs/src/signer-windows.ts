/**
 * Signing with a key in a Windows certificate store through CNG: `NCryptSignHash` over a digest
 * computed here, PKCS#1 v1.5 (`BCRYPT_PAD_PKCS1`) or PSS (`BCRYPT_PAD_PSS` with the salt length)
 * for RSA, and for ECDSA the raw `r‖s` CNG returns converted to the DER form `crypto.verify` and
 * TLS expect. The key never leaves its key storage provider (software, TPM or smart card). The
 * call is synchronous, so the same signer serves MCA (`sign`) and TLS client authentication
 * (`signSync`, inside OpenSSL's handshake).
 */
import { createHash } from 'node:crypto';
import { ErrorCodes } from '@tandem/common';
import { cngError } from './cng-errors-windows.js';
import type { NCryptKey } from './crypt32-api-windows.js';
import { NCrypt, type CngHashAlgorithm, type CngPadding, type NCryptApi } from './ncrypt-api-windows.js';
import { ecdsaRawToDer } from './pkcs11-signer.js';
import type { SignHash, Signer, SignPadding, SyncSigner } from './signer.js';

const ALGORITHMS: Record<SignHash, CngHashAlgorithm> = { sha256: 'SHA256', sha384: 'SHA384', sha512: 'SHA512' };

/** A signer over one CNG key handle; the source that acquired the key frees it. */
export class CngSigner implements Signer, SyncSigner {
  readonly keySource = 'cng';

  /**
   * `silent` adds NCRYPT_SILENT_FLAG: no PIN or consent prompt (the agent as a service, which
   * has no desktop); a key that needs one then fails with NTE_SILENT_CONTEXT. `origin` names the
   * certificate in errors.
   */
  constructor(
    private readonly api: NCryptApi,
    private readonly key: NCryptKey,
    readonly keyType: 'rsa' | 'ec',
    private readonly silent: boolean,
    private readonly origin: string,
  ) {}

  /** See {@link Signer.sign}: RSA PKCS#1 v1.5 or DER ECDSA. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    return this.signSync(data, hash);
  }

  /** See {@link SyncSigner.signSync}. Throws E_CERT_SIGN naming NCryptSignHash and its status. */
  signSync(data: Buffer, hash: SignHash, padding: SignPadding = { scheme: 'pkcs1' }): Buffer {
    const digest = createHash(hash).update(data).digest();
    const algorithm = ALGORITHMS[hash];
    let info: CngPadding | null = null;
    let flags = this.silent ? NCrypt.NCRYPT_SILENT_FLAG : 0;
    if (this.keyType === 'rsa') {
      info =
        padding.scheme === 'pss'
          ? { kind: 'pss', algorithm, saltBytes: padding.saltLength }
          : { kind: 'pkcs1', algorithm };
      flags |= padding.scheme === 'pss' ? NCrypt.BCRYPT_PAD_PSS : NCrypt.BCRYPT_PAD_PKCS1;
    }
    const length = new Uint32Array(1);
    let status = this.api.NCryptSignHash(this.key, info, digest, null, length, flags);
    if (status !== 0) throw cngError(ErrorCodes.CERT_SIGN, 'NCryptSignHash', this.origin, status);
    const signature = Buffer.alloc(length[0]!);
    status = this.api.NCryptSignHash(this.key, info, digest, signature, length, flags);
    if (status !== 0) throw cngError(ErrorCodes.CERT_SIGN, 'NCryptSignHash', this.origin, status);
    const out = signature.subarray(0, length[0]);
    return this.keyType === 'ec' ? ecdsaRawToDer(out) : out;
  }
}
