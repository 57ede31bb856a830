/**
 * The certificate model: everything selection, the CLI and the bindings need, read once from the
 * DER with our DER reader (names, extensions; der.ts) and node:crypto (dates, key details). JSON-serialisable
 * through {@link CertificateModel.toJSON}; it never holds private key material.
 */
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import type { KeyUsageName } from '@tandem/profile';
import { TandemError, ErrorCodes } from '@tandem/common';
import {
  childrenOf,
  contentOf,
  expectTlv,
  integerHex,
  locateCertificate,
  malformed,
  readExtension,
  Tag,
} from './der.js';
import { dnAttributes, dnString, type DnAttribute } from './dn.js';
import { decodeExtensions, type SubjectAltNames } from './extensions.js';

export type { SubjectAltNames } from './extensions.js';

/** Where a certificate's private key lives. */
export type KeySource = 'file' | 'pkcs12' | 'pkcs11' | 'nss' | 'remote' | 'platform' | 'cng' | 'keychain';

/** Public key summary. */
export interface PublicKeyInfo {
  type: 'rsa' | 'ec' | 'other';
  /** RSA modulus bits, or the EC field size. */
  bits: number | null;
  /** EC curve as OpenSSL names it (`prime256v1`, `secp384r1`). */
  curve: string | null;
}

/** Private-key status as found by the source. */
export interface KeyStatus {
  hasPrivateKey: boolean;
  keySource: KeySource | null;
  /** Plain-words reason when a key was expected but is unusable (mismatch, locked). */
  keyProblem: string | null;
}

/** Profile names of the KeyUsage bits, in RFC 5280 bit order (bit n is mask 1 << n). */
const KU_NAMES: readonly KeyUsageName[] = [
  'Digital_Signature',
  'Non_Repudiation',
  'Key_Encipherment',
  'Data_Encipherment',
  'Key_Agreement',
  'Key_Cert_Sign',
  'CRL_Sign',
  'Encipher_Only',
  'Decipher_Only',
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

/**
 * Returns the contents of the subjectPublicKey BIT STRING of a DER SubjectPublicKeyInfo
 * (the bytes RFC 5280 §4.2.1.2 method 1 hashes for a key identifier).
 */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  // SEQUENCE { SEQUENCE algorithm, BIT STRING key }
  const outer = expectTlv(spki, 0, spki.length, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  const key = childrenOf(spki, outer)[1];
  if (!key || key.tag !== Tag.BIT_STRING || key.end === key.start)
    throw new TandemError(ErrorCodes.CERT_INVALID, 'malformed SubjectPublicKeyInfo');
  // The first content byte is the count of unused bits (0 for keys).
  return contentOf(spki, key).subarray(1);
}

/** A parsed certificate plus its private-key status. */
export class CertificateModel {
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
  /** BasicConstraints says this is a CA certificate. */
  readonly ca: boolean;
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
    try {
      const node = new NodeX509(this.der);
      const at = locateCertificate(this.der);
      this.subject = dnAttributes(this.der, at.subject);
      this.issuer = dnAttributes(this.der, at.issuer);
      this.serialNumber = integerHex(this.der, at.serial);
      this.notBefore = node.validFromDate;
      this.notAfter = node.validToDate;
      // OpenSSL accepts some validity strings it then cannot turn into a time.
      if (Number.isNaN(this.notBefore.getTime()) || Number.isNaN(this.notAfter.getTime()))
        malformed('validity is not a valid time');
      this.publicKey = publicKeyInfo(node);
      const ext = decodeExtensions(
        this.der,
        at.extensions.map((e) => readExtension(this.der, e)),
      );
      this.keyUsage = ext.keyUsage === null ? null : KU_NAMES.filter((_, bit) => (ext.keyUsage! & (1 << bit)) !== 0);
      this.extendedKeyUsage = ext.extendedKeyUsage;
      this.subjectAltNames = ext.subjectAltNames;
      this.policies = ext.policies;
      this.subjectKeyId = ext.subjectKeyId;
      this.authorityKeyId = ext.authorityKeyId;
      this.ca = ext.ca;
      this.spki = node.publicKey.export({ type: 'spki', format: 'der' });
    } catch (err) {
      throw new TandemError(ErrorCodes.CERT_INVALID, `not an X.509 certificate: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.sha1 = createHash('sha1').update(this.der).digest('hex');
    this.sha256 = createHash('sha256').update(this.der).digest('hex');
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
    const lines = this.der.toString('base64').match(/.{1,64}/g) ?? [];
    return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
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
