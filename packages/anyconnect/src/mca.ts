/**
 * Multiple Certificate Authentication, client side (docs/protocol.md#mca): choose the digest, sign the exact
 * challenge bytes with the user certificate's key, and package the user chain as a certs-only
 * PKCS#7 SignedData.
 */
import type { SigningIdentity, SignHash } from '@tandem/certs/signer';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Digests the client may use, strongest first (openconnect's order). */
export const MCA_HASH_PREFERENCE = ['sha512', 'sha384', 'sha256'] as const;

/** A digest name the MCA exchange supports (the certs package's signers support each). */
export type McaHash = (typeof MCA_HASH_PREFERENCE)[number] & SignHash;

/** Picks sha512 > sha384 > sha256 from what the gateway offered; throws when none is usable. */
export function chooseMcaHash(offered: readonly string[]): McaHash {
  const set = new Set(offered.map((h) => h.trim().toLowerCase()));
  const hit = MCA_HASH_PREFERENCE.find((h) => set.has(h));
  if (!hit) {
    throw new TandemError(
      ErrorCodes.AUTH_UNSUPPORTED,
      `gateway offered no supported MCA signature hash (offered: ${[...set].join(', ') || 'none'}; supported: sha256, sha384, sha512)`,
    );
  }
  return hit;
}

const ID_DATA = '1.2.840.113549.1.7.1';

/**
 * Builds a DER certs-only SignedData: version 1, no digest algorithms, `data` content type with
 * no content, the certificates in canonical DER `SET OF` order, and no signer infos.
 */
export async function buildCertsOnlyPkcs7(certsDer: readonly Buffer[]): Promise<Buffer> {
  // Loaded on first use: the ASN.1 libraries cost tens of milliseconds at start-up, and only
  // MCA needs them.
  const [{ AsnConvert }, cms, { Certificate }] = await Promise.all([
    import('@peculiar/asn1-schema'),
    import('@peculiar/asn1-cms'),
    import('@peculiar/asn1-x509'),
  ]);
  const {
    CertificateSet,
    CertificateChoices,
    ContentInfo,
    EncapsulatedContentInfo,
    SignedData,
    id_signedData,
    SignerInfos,
    DigestAlgorithmIdentifiers,
  } = cms;
  const unique = [...new Map(certsDer.map((d) => [d.toString('hex'), d])).values()];
  // Strict DER wants SET OF members sorted by their encodings; some parsers warn otherwise.
  unique.sort(Buffer.compare);
  const certificates = new CertificateSet(
    unique.map((d) => new CertificateChoices({ certificate: AsnConvert.parse(d, Certificate) })),
  );
  const signed = new SignedData({
    version: 1,
    digestAlgorithms: new DigestAlgorithmIdentifiers(),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: ID_DATA }),
    certificates,
    signerInfos: new SignerInfos(),
  });
  const info = new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signed) });
  return Buffer.from(AsnConvert.serialize(info));
}

/** Base64 broken into 64-character lines with bare `\n`, no trailing newline (docs/protocol.md#mca-reply). */
export function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,64}/g) ?? []).join('\n');
}

/** Produces the MCA reply parts for a challenge body. */
export async function answerMcaChallenge(
  challengeBody: Buffer,
  offered: readonly string[],
  user: SigningIdentity,
): Promise<{ hash: McaHash; pkcs7Base64: string; signatureBase64: string }> {
  if (user.chainDer.length === 0) throw new TandemError(ErrorCodes.CERT_NOT_FOUND, 'MCA needs a user certificate');
  const hash = chooseMcaHash(offered);
  let signature: Buffer;
  try {
    // The exact response bytes as received: never re-serialised, never trimmed.
    signature = await user.signer.sign(challengeBody, hash);
  } catch (err) {
    throw new TandemError(
      ErrorCodes.CERT_SIGN,
      `signing the MCA challenge with the user certificate failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    hash,
    pkcs7Base64: base64Lines(await buildCertsOnlyPkcs7(user.chainDer)),
    signatureBase64: base64Lines(signature),
  };
}
