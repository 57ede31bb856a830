/**
 * Signing with a key that never leaves a PKCS#11 token: RSA via CKM_SHA{256,384,512}_RSA_PKCS
 * (the token hashes and pads), ECDSA via CKM_ECDSA over a digest computed here, with the
 * token's raw r‖s output converted to the DER form `crypto.verify` and TLS expect.
 */
import { createHash } from 'node:crypto';
import type pkcs11js from 'pkcs11js';
import { pkcs11Lib } from './lazy-deps.js';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { Signer, SignHash } from './signer.js';

/** The token mechanism that hashes with `hash` and signs PKCS#1 v1.5. */
function rsaMechanism(hash: SignHash): number {
  const lib = pkcs11Lib();
  return { sha256: lib.CKM_SHA256_RSA_PKCS, sha384: lib.CKM_SHA384_RSA_PKCS, sha512: lib.CKM_SHA512_RSA_PKCS }[hash];
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(raw: Buffer): Buffer {
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0) i++;
  let body = raw.subarray(i);
  // A set high bit would make the INTEGER negative; prefix a zero byte.
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/** Converts a PKCS#11 ECDSA signature (r‖s, equal halves) to a DER `Ecdsa-Sig-Value`. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0)
    throw new TandemError(ErrorCodes.CERT_SIGN, `bad ECDSA signature length ${raw.length}`);
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Runs one token operation at a time on a session (PKCS#11 allows one active operation per session). */
export type SessionRunner = <T>(op: (p11: pkcs11js.PKCS11, session: Buffer) => T) => Promise<T>;

/** A signer for one private-key object on a token. */
export class Pkcs11Signer implements Signer {
  /**
   * `key` is the private-key object handle inside the session `run` uses; `keySource` says
   * where it lives (`pkcs11` for a token, `nss` for an NSS database through softoken).
   */
  constructor(
    private readonly run: SessionRunner,
    private readonly key: Buffer,
    readonly keyType: 'rsa' | 'ec',
    readonly keySource: 'pkcs11' | 'nss' = 'pkcs11',
  ) {}

  /** See {@link Signer.sign}. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    try {
      return await this.run((p11, session) => {
        if (this.keyType === 'rsa') {
          p11.C_SignInit(session, { mechanism: rsaMechanism(hash) }, this.key);
          return Buffer.from(p11.C_Sign(session, data, Buffer.alloc(1024)));
        }
        p11.C_SignInit(session, { mechanism: pkcs11Lib().CKM_ECDSA }, this.key);
        const digest = createHash(hash).update(data).digest();
        return ecdsaRawToDer(Buffer.from(p11.C_Sign(session, digest, Buffer.alloc(256))));
      });
    } catch (err) {
      if (err instanceof TandemError) throw err;
      throw new TandemError(ErrorCodes.CERT_SIGN, `token signing failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
