/**
 * The certificate model: everything selection, the CLI and the bindings need, read once from the
 * DER with @peculiar/x509 (extensions, DNs) and node:crypto (key details). JSON-serialisable
 * through {@link CertificateModel.toJSON}; it never holds private key material.
 */
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import type { KeyUsageName } from '@tandem/profile';
import { TandemError, ErrorCodes } from '@tandem/common';
import { dnAttributes, dnString, type DnAttribute } from './dn.js';
import { x509 } from './x509.js';

/** Where a certificate's private key lives. */
export type KeySource = 'file' | 'pkcs12' | 'pkcs11' | 'remote' | 'platform';

/** Public key summary. */
export interface PublicKeyInfo {
  type: 'rsa' | 'ec' | 'other';
  /** RSA modulus bits, or the EC field size. */
  bits: number | null;
  /** EC curve as OpenSSL names it (`prime256v1`, `secp384r1`). */
  curve: string | null;
}

/** Subject alternative names by kind. */
export interface SubjectAltNames {
  dns: string[];
  email: string[];
  upn: string[];
  ip: string[];
  uri: string[];
}

/** Private-key status as found by the source. */
export interface KeyStatus {
  hasPrivateKey: boolean;
  keySource: KeySource | null;
  /** Plain-words reason when a key was expected but is unusable (mismatch, locked). */
  keyProblem: string | null;
}

/** KeyUsage bit → profile name (bit values as in @peculiar/x509's KeyUsageFlags). */
const KU_BITS: ReadonlyArray<[number, KeyUsageName]> = [
  [x509.KeyUsageFlags.digitalSignature, 'Digital_Signature'],
  [x509.KeyUsageFlags.nonRepudiation, 'Non_Repudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'Key_Encipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'Data_Encipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'Key_Agreement'],
  [x509.KeyUsageFlags.keyCertSign, 'Key_Cert_Sign'],
  [x509.KeyUsageFlags.cRLSign, 'CRL_Sign'],
  [x509.KeyUsageFlags.encipherOnly, 'Encipher_Only'],
  [x509.KeyUsageFlags.decipherOnly, 'Decipher_Only'],
];

function publicKeyInfo(node: NodeX509): PublicKeyInfo {
  const key = node.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss')
    return { type: 'rsa', bits: d.modulusLength ?? null, curve: null };
  if (key.asymmetricKeyType === 'ec') {
    const curve = d.namedCurve ?? null;
    const bits = curve === 'prime256v1' ? 256 : curve === 'secp384r1' ? 384 : curve === 'secp521r1' ? 521 : null;
    return { type: 'ec', bits, curve };
  }
  return { type: 'other', bits: null, curve: null };
}

function subjectAltNames(cert: x509.X509Certificate): SubjectAltNames {
  const out: SubjectAltNames = { dns: [], email: [], upn: [], ip: [], uri: [] };
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const n of ext?.names.toJSON() ?? []) {
    if (n.type === 'dns') out.dns.push(n.value);
    else if (n.type === 'email') out.email.push(n.value);
    else if (n.type === 'upn') out.upn.push(n.value);
    else if (n.type === 'ip') out.ip.push(n.value);
    else if (n.type === 'url') out.uri.push(n.value);
  }
  return out;
}

/**
 * Returns the contents of the subjectPublicKey BIT STRING of a DER SubjectPublicKeyInfo
 * (the bytes RFC 5280 §4.2.1.2 method 1 hashes for a key identifier).
 */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  // SEQUENCE { SEQUENCE algorithm, BIT STRING key }: skip the outer header and the algorithm.
  const len = (at: number): [number, number] => {
    const first = spki[at + 1] ?? 0;
    if (first < 0x80) return [first, 2];
    const n = first & 0x7f;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (spki[at + 2 + i] ?? 0);
    return [v, 2 + n];
  };
  const [, outerHdr] = len(0);
  const [algLen, algHdr] = len(outerHdr);
  const bitAt = outerHdr + algHdr + algLen;
  if (spki[bitAt] !== 0x03) throw new TandemError(ErrorCodes.CERT_INVALID, 'malformed SubjectPublicKeyInfo');
  const [bitLen, bitHdr] = len(bitAt);
  // The first content byte is the count of unused bits (0 for keys).
  return spki.subarray(bitAt + bitHdr + 1, bitAt + bitHdr + bitLen);
}

/** A parsed certificate plus its private-key status. */
export class CertificateModel {
  /** The certificate as @peculiar/x509 reads it (for chain building and extensions). */
  readonly cert: x509.X509Certificate;
  /** DER bytes. */
  readonly der: Buffer;
  readonly subject: DnAttribute[];
  readonly issuer: DnAttribute[];
  /** Serial number, big-endian lower-case hex of the positive integer (a DER sign byte 00 is not shown). */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: PublicKeyInfo;
  /** Key usage names, or null when the certificate has no KeyUsage extension. */
  readonly keyUsage: KeyUsageName[] | null;
  /** EKU OIDs, or null when the certificate has no ExtendedKeyUsage extension. */
  readonly extendedKeyUsage: string[] | null;
  readonly subjectAltNames: SubjectAltNames;
  readonly policies: string[];
  /** Subject key identifier (hex) from the extension, or null. */
  readonly subjectKeyId: string | null;
  /** Authority key identifier (hex) from the extension, or null. */
  readonly authorityKeyId: string | null;
  readonly sha1: string;
  readonly sha256: string;
  /** SHA-1 of the subjectPublicKey bits (Entra `SHA1-PUKEY`). */
  readonly publicKeySha1: string;
  /** DER SubjectPublicKeyInfo, to compare with a private key's public half. */
  readonly spki: Buffer;
  readonly key: KeyStatus;

  /** Parses DER; throws E_CERT_INVALID when the bytes are not a certificate. */
  constructor(der: Uint8Array, key: KeyStatus = { hasPrivateKey: false, keySource: null, keyProblem: null }) {
    this.der = Buffer.from(der);
    let node: NodeX509;
    try {
      this.cert = new x509.X509Certificate(this.der);
      node = new NodeX509(this.der);
    } catch (err) {
      throw new TandemError(ErrorCodes.CERT_INVALID, `not an X.509 certificate: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.subject = dnAttributes(this.cert.subjectName);
    this.issuer = dnAttributes(this.cert.issuerName);
    this.serialNumber = this.cert.serialNumber.toLowerCase();
    this.notBefore = this.cert.notBefore;
    this.notAfter = this.cert.notAfter;
    this.publicKey = publicKeyInfo(node);
    const ku = this.cert.getExtension(x509.KeyUsagesExtension);
    this.keyUsage = ku ? KU_BITS.filter(([bit]) => (ku.usages & bit) !== 0).map(([, n]) => n) : null;
    const eku = this.cert.getExtension(x509.ExtendedKeyUsageExtension);
    this.extendedKeyUsage = eku ? eku.usages.map(String) : null;
    this.subjectAltNames = subjectAltNames(this.cert);
    this.policies = [...(this.cert.getExtension(x509.CertificatePolicyExtension)?.policies ?? [])];
    this.subjectKeyId = this.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase() ?? null;
    this.authorityKeyId = this.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase() ?? null;
    this.sha1 = createHash('sha1').update(this.der).digest('hex');
    this.sha256 = createHash('sha256').update(this.der).digest('hex');
    this.spki = node.publicKey.export({ type: 'spki', format: 'der' });
    this.publicKeySha1 = createHash('sha1').update(subjectPublicKeyBits(this.spki)).digest('hex');
    this.key = key;
  }

  /** Same certificate with another key status (sources learn about keys after parsing). */
  withKey(key: KeyStatus): CertificateModel {
    return new CertificateModel(this.der, key);
  }

  /** Subject DN as `CN=…, OU=…` in certificate order. */
  get subjectDn(): string {
    return dnString(this.subject);
  }

  /** Issuer DN as `CN=…, O=…` in certificate order. */
  get issuerDn(): string {
    return dnString(this.issuer);
  }

  /** PEM of the certificate. */
  get pem(): string {
    return `${this.cert.toString('pem')}\n`;
  }

  /** JSON form used by `tandem certs list --json` (no key material, ever). */
  toJSON(): Record<string, unknown> {
    return {
      subject: { dn: this.subjectDn, attributes: this.subject },
      issuer: { dn: this.issuerDn, attributes: this.issuer },
      serialNumber: this.serialNumber,
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      publicKey: this.publicKey,
      keyUsage: this.keyUsage,
      extendedKeyUsage: this.extendedKeyUsage,
      subjectAltNames: this.subjectAltNames,
      policies: this.policies,
      subjectKeyId: this.subjectKeyId,
      authorityKeyId: this.authorityKeyId,
      sha1: this.sha1,
      sha256: this.sha256,
      hasPrivateKey: this.key.hasPrivateKey,
      keySource: this.key.keySource,
      keyProblem: this.key.keyProblem,
    };
  }
}
