/**
 * Verification of an MCA auth-reply (docs/protocol.md#mca-reply): the machine certificate must be the one
 * the challenge was issued to, the `1U` bundle must hold a user certificate that chains to the
 * trust store, the hash must be one we offered, and the signature must cover exactly the
 * challenge bytes we sent — RSA PKCS#1 v1.5 or ECDSA with a DER signature, nothing else.
 */
import { constants, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import type { CertChainElement, ClientAuthDoc } from './config-auth.js';
import { decodeBase64Loose, parseBundle, Pkcs7Error } from './pkcs7.js';
import type { PendingChallenge } from './sessions.js';
import type { TrustStore } from './trust.js';

/** Hash names this gateway offers, strongest last (the order its challenge lists them in). */
export const MCA_HASHES = ['sha256', 'sha384', 'sha512'] as const;

/** Result of {@link verifyMcaReply}. */
export type McaResult = { ok: true; user: X509Certificate; hash: string } | { ok: false; reason: string };

/**
 * Verifies `signature` over `message` with the certificate's key: PKCS#1 v1.5 for RSA,
 * DER-encoded ECDSA for EC keys. Other key types are refused.
 */
export function verifyChallengeSignature(
  cert: X509Certificate,
  hash: string,
  message: Buffer,
  signature: Buffer,
): boolean {
  const key: KeyObject = cert.publicKey;
  if (key.asymmetricKeyType === 'rsa') {
    return verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  if (key.asymmetricKeyType === 'ec') {
    return verify(hash, message, { key, dsaEncoding: 'der' }, signature);
  }
  throw new Pkcs7Error(`user certificate key type ${key.asymmetricKeyType ?? 'unknown'} is not supported for MCA`);
}

function findChain(doc: ClientAuthDoc, store: string): CertChainElement | { missing: string } {
  const hits = doc.chains.filter((c) => c.store === store);
  if (hits.length === 0) return { missing: `auth-reply has no client-cert-chain cert-store="${store}"` };
  if (hits.length > 1) return { missing: `auth-reply has ${hits.length} client-cert-chain cert-store="${store}"` };
  return hits[0] as CertChainElement;
}

/**
 * Checks an auth-reply against the challenge it answers. `machineFingerprint` is the SHA-256
 * fingerprint of the (already validated) TLS client certificate of this connection.
 */
export function verifyMcaReply(
  doc: ClientAuthDoc,
  challenge: PendingChallenge,
  machineFingerprint: string,
  trust: TrustStore,
): McaResult {
  if (machineFingerprint !== challenge.machineFingerprint) {
    return { ok: false, reason: 'machine certificate differs from the one the challenge was issued to' };
  }
  const machine = findChain(doc, '1M');
  if ('missing' in machine) return { ok: false, reason: machine.missing };
  if (!machine.sentViaProtocol)
    return { ok: false, reason: 'cert-store 1M does not say client-cert-sent-via-protocol' };
  const user = findChain(doc, '1U');
  if ('missing' in user) return { ok: false, reason: user.missing };
  if (user.certFormat !== 'pkcs7')
    return { ok: false, reason: `cert-store 1U cert-format is ${JSON.stringify(user.certFormat)}, expected "pkcs7"` };
  if (!user.cert) return { ok: false, reason: 'cert-store 1U has no client-cert' };
  if (!user.signature) return { ok: false, reason: 'cert-store 1U has no client-cert-auth-signature' };
  const hash = user.hashChosen ?? '';
  if (!challenge.hashes.includes(hash))
    return { ok: false, reason: `hash-algorithm-chosen ${JSON.stringify(hash)} was not offered` };
  try {
    const bundle = parseBundle(user.cert);
    const path = trust.validate(bundle.leaf, bundle.chain);
    if (!path.ok) return { ok: false, reason: `user certificate: ${path.reason}` };
    const signature = decodeBase64Loose(user.signature, 'client-cert-auth-signature');
    if (!verifyChallengeSignature(bundle.leaf, hash, challenge.body, signature)) {
      return { ok: false, reason: 'signature does not verify over the challenge with the user certificate key' };
    }
    return { ok: true, user: bundle.leaf, hash };
  } catch (err) {
    if (err instanceof Pkcs7Error) return { ok: false, reason: err.message };
    return { ok: false, reason: `cannot verify MCA reply: ${err instanceof Error ? err.message : String(err)}` };
  }
}
