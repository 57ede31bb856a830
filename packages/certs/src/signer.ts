/**
 * The `Signer` interface: the only thing the protocol layer needs from a private key (the MCA
 * signature, a test signature). Signing is a callback so non-exportable keys (PKCS#11 tokens,
 * Windows CNG, macOS Keychain, a remote signer in the user's process over IPC) fit the same
 * shape. Output is always what `crypto.verify` accepts with the certificate: RSA PKCS#1 v1.5,
 * or ECDSA as a DER `Ecdsa-Sig-Value`.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Digest algorithms the gateway may ask for (MCA `hash-algorithm`). */
export type SignHash = 'sha256' | 'sha384' | 'sha512';

/** Signs with one private key, wherever it lives. */
export interface Signer {
  /** Key algorithm, so callers can label the signature. */
  readonly keyType: 'rsa' | 'ec';
  /** Where the key lives, for diagnostics (`file`, `pkcs12`, `pkcs11`, `remote`, …). */
  readonly keySource: string;
  /**
   * Hashes `data` with `hash` and signs it: RSASSA-PKCS1-v1_5 for RSA, DER ECDSA for EC.
   * Rejects with E_CERT_SIGN when the key cannot sign.
   */
  sign(data: Buffer, hash: SignHash): Promise<Buffer>;
}

/** RSA padding for a TLS signature: PKCS#1 v1.5 (TLS 1.2) or PSS with its salt length in bytes (TLS 1.3). */
export type SignPadding = { scheme: 'pkcs1' } | { scheme: 'pss'; saltLength: number };

/**
 * A signer that answers at once, for OpenSSL, which waits for the handshake's signature inside
 * its own call (TLS client authentication with a key OpenSSL never holds). Keys in the OS
 * stores and on tokens sign through synchronous calls, so their signers are both.
 */
export interface SyncSigner {
  readonly keyType: 'rsa' | 'ec';
  /**
   * Hashes `data` with `hash` and signs it: RSA with `padding` (PKCS#1 v1.5 when absent), EC as
   * DER ECDSA. Throws E_CERT_SIGN when the key cannot sign.
   */
  signSync(data: Buffer, hash: SignHash, padding?: SignPadding): Buffer;
}

/**
 * A certificate chain with the key that signs for its leaf: what MCA presents (the chain, as
 * PKCS#7) and signs the gateway's challenge with. The one shape a user certificate takes from
 * any store — a file, a token, or the user's own process answering the agent over IPC.
 */
export interface SigningIdentity {
  /** DER of the certificate followed by its intermediates. */
  readonly chainDer: readonly Buffer[];
  readonly signer: Signer;
}

/**
 * A signing identity, or how to get one when it is needed: MCA asks for the user certificate
 * only once the gateway sends its challenge, so a caller whose identity is expensive to find
 * (the agent asking the user's process) resolves it then, while the TLS handshake runs.
 */
export type SigningIdentitySource = SigningIdentity | (() => Promise<SigningIdentity>);

/** A signer over a key held in this process as a node:crypto KeyObject (files, PKCS#12). */
export class KeyObjectSigner implements Signer, SyncSigner {
  readonly keyType: 'rsa' | 'ec';

  /** `key` must be an RSA or EC private KeyObject. */
  constructor(
    private readonly key: KeyObject,
    readonly keySource: string,
  ) {
    const t = key.asymmetricKeyType;
    if (t !== 'rsa' && t !== 'ec') throw new TandemError(ErrorCodes.CERT_KEY, `unsupported key type ${t ?? 'unknown'}`);
    this.keyType = t;
  }

  /** See {@link Signer.sign}. */
  async sign(data: Buffer, hash: SignHash): Promise<Buffer> {
    return this.signSync(data, hash);
  }

  /** See {@link SyncSigner.signSync}. */
  signSync(data: Buffer, hash: SignHash, padding?: SignPadding): Buffer {
    const rsa =
      padding?.scheme === 'pss'
        ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: padding.saltLength }
        : { padding: constants.RSA_PKCS1_PADDING };
    try {
      // dsaEncoding 'der' is the default for EC keys; stated for clarity.
      return cryptoSign(hash, data, { key: this.key, dsaEncoding: 'der', ...(this.keyType === 'rsa' ? rsa : {}) });
    } catch (err) {
      throw new TandemError(ErrorCodes.CERT_SIGN, `signing failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** True when the private key's public half equals the certificate's SubjectPublicKeyInfo. */
export function keyMatchesSpki(key: KeyObject, spki: Buffer): boolean {
  return createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(spki);
}

/**
 * Proves a signer really holds the certificate's key: signs a fixed probe and verifies it with
 * the certificate's public key.
 */
export async function testSignature(signer: Signer, spki: Buffer): Promise<boolean> {
  const probe = Buffer.from('tandem key probe');
  try {
    const sig = await signer.sign(probe, 'sha256');
    return cryptoVerify(
      'sha256',
      probe,
      { key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), dsaEncoding: 'der' },
      sig,
    );
  } catch {
    return false;
  }
}

/**
 * A signing identity from PEM text (`--user-cert`/`--user-key`): every certificate in `certPem`,
 * leaf first, and the key. E_CERT_INVALID without a certificate, E_CERT_KEY when the key cannot
 * be read or is not the leaf's.
 */
export function pemSigningIdentity(certPem: string, keyPem: string, passphrase?: string): SigningIdentity {
  const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new TandemError(ErrorCodes.CERT_INVALID, 'the certificate file holds no PEM certificate');
  const certs = blocks.map((b) => new X509Certificate(b));
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase ? { key: keyPem, passphrase } : keyPem);
  } catch (err) {
    throw new TandemError(ErrorCodes.CERT_KEY, `cannot read the private key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!certs[0]!.checkPrivateKey(key))
    throw new TandemError(ErrorCodes.CERT_KEY, 'the private key does not belong to the first certificate');
  return { chainDer: certs.map((c) => Buffer.from(c.raw)), signer: new KeyObjectSigner(key, 'file') };
}
