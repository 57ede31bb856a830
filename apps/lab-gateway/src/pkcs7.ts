/**
 * The MCA `1U` certificate bundle: a degenerate PKCS#7/CMS SignedData ("certs-only",
 * docs/protocol.md#mca-reply). We accept any certificate order and either eContentType (GnuTLS writes digestedData,
 * OpenSSL and Cisco write data), but the set must be coherent: exactly one end-entity
 * certificate, CA certificates that each appear once, and no CA certificate that is not on
 * the end-entity's issuer chain — a bundle padded with unrelated certificates is refused.
 */
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, id_signedData } from '@peculiar/asn1-cms';

/** Upper bound on certificates in one bundle (a real chain has 2–4). */
export const MAX_BUNDLE_CERTS = 10;

/** A parsed bundle: the end-entity certificate and the CA certificates above it, in path order. */
export interface CertBundle {
  leaf: X509Certificate;
  chain: X509Certificate[];
  eContentType: string;
}

/** Thrown for any malformed or incoherent bundle; the message is the refusal reason. */
export class Pkcs7Error extends Error {
  override readonly name = 'Pkcs7Error';
}

/** Decodes base64 that may contain line breaks and spaces; refuses anything else. */
export function decodeBase64Loose(text: string, what: string): Buffer {
  const compact = text.replace(/[\s]+/g, '');
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new Pkcs7Error(`${what} is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

/** Parses DER certs-only SignedData into its certificates, in the order they were encoded. */
export function parseCertsOnly(der: Buffer): { certs: X509Certificate[]; eContentType: string } {
  let info: ContentInfo;
  let signed: SignedData;
  try {
    info = AsnConvert.parse(der, ContentInfo);
    if (info.contentType !== id_signedData)
      throw new Pkcs7Error(`PKCS#7 content type ${info.contentType} is not signedData`);
    signed = AsnConvert.parse(info.content, SignedData);
  } catch (err) {
    if (err instanceof Pkcs7Error) throw err;
    throw new Pkcs7Error(`PKCS#7 bundle does not parse (${err instanceof Error ? err.message : String(err)})`);
  }
  const choices = signed.certificates ?? [];
  if (choices.length === 0) throw new Pkcs7Error('PKCS#7 bundle contains no certificates');
  if (choices.length > MAX_BUNDLE_CERTS)
    throw new Pkcs7Error(`PKCS#7 bundle contains ${choices.length} certificates (max ${MAX_BUNDLE_CERTS})`);
  const certs = choices.map((c, i) => {
    if (!c.certificate) throw new Pkcs7Error(`PKCS#7 entry ${i} is not an X.509 certificate`);
    try {
      return new X509Certificate(Buffer.from(AsnConvert.serialize(c.certificate)));
    } catch {
      throw new Pkcs7Error(`PKCS#7 entry ${i} is not a valid X.509 certificate`);
    }
  });
  return { certs, eContentType: signed.encapContentInfo.eContentType };
}

/** Parses and checks a base64 `1U` bundle: one end-entity, no duplicates, no unused CAs. */
export function parseBundle(base64: string): CertBundle {
  const { certs, eContentType } = parseCertsOnly(decodeBase64Loose(base64, 'client-cert'));
  const leaves = certs.filter((c) => !c.ca);
  if (leaves.length === 0) throw new Pkcs7Error('PKCS#7 bundle has no end-entity certificate (all are CA:TRUE)');
  if (leaves.length > 1)
    throw new Pkcs7Error(`PKCS#7 bundle has ${leaves.length} end-entity certificates (expected exactly one)`);
  const leaf = leaves[0] as X509Certificate;
  const bySubject = new Map<string, X509Certificate>();
  for (const ca of certs.filter((c) => c.ca)) {
    if (bySubject.has(ca.subject))
      throw new Pkcs7Error(`PKCS#7 bundle contains a duplicate CA certificate ("${ca.subject.replace(/\n/g, ', ')}")`);
    bySubject.set(ca.subject, ca);
  }
  // Walk up by issuer name, consuming each CA once; whatever is left over was never used.
  const chain: X509Certificate[] = [];
  let cur = leaf;
  for (;;) {
    const next = bySubject.get(cur.issuer);
    if (!next) break;
    bySubject.delete(cur.issuer);
    chain.push(next);
    cur = next;
  }
  if (bySubject.size > 0) {
    const names = [...bySubject.keys()].map((s) => `"${s.replace(/\n/g, ', ')}"`).join(', ');
    throw new Pkcs7Error(`PKCS#7 bundle contains certificates not on the end-entity's chain: ${names}`);
  }
  return { leaf, chain, eContentType };
}
