/**
 * The certificate extensions the model reads (RFC 5280 §4.2), decoded from their DER with
 * der.ts: KeyUsage, ExtendedKeyUsage, SubjectAltName (with the Microsoft UPN), policies, key
 * identifiers and BasicConstraints.
 */
import { formatIpv4, formatIpv6 } from '@tandem/common';
import {
  childrenOf,
  contentOf,
  expectTag,
  ExtensionOid,
  keyUsageMask,
  oidString,
  stringValue,
  Tag,
  type Extension,
  type Tlv,
} from './der.js';

/** Microsoft's UPN otherName (szOID_NT_PRINCIPAL_NAME). */
const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

/** Subject alternative names by kind. */
export interface SubjectAltNames {
  dns: string[];
  email: string[];
  upn: string[];
  ip: string[];
  uri: string[];
}

/** The extensions of a certificate's DER, decoded: a missing extension reads as null. */
export interface DecodedExtensions {
  /** KeyUsage mask (bit n of RFC 5280 at 1 << n), or null without the extension. */
  keyUsage: number | null;
  extendedKeyUsage: string[] | null;
  subjectAltNames: SubjectAltNames;
  policies: string[];
  subjectKeyId: string | null;
  authorityKeyId: string | null;
  /** BasicConstraints cA (false without the extension). */
  ca: boolean;
}

function oids(der: Uint8Array, seq: Tlv): string[] {
  return childrenOf(der, expectTag(seq, Tag.SEQUENCE, 'OID list')).map((t) => oidString(der, t));
}

function ipString(bytes: Buffer): string {
  if (bytes.length === 4) return formatIpv4(bytes.readUInt32BE(0));
  if (bytes.length === 16) return formatIpv6(bytes);
  return `#${bytes.toString('hex')}`;
}

function altNames(der: Uint8Array, seq: Tlv): SubjectAltNames {
  const out: SubjectAltNames = { dns: [], email: [], upn: [], ip: [], uri: [] };
  for (const name of childrenOf(der, expectTag(seq, Tag.SEQUENCE, 'SubjectAltName'))) {
    const text = (): string => contentOf(der, name).toString('latin1');
    if (name.tag === 0x81) out.email.push(text());
    else if (name.tag === 0x82) out.dns.push(text());
    else if (name.tag === 0x86) out.uri.push(text());
    else if (name.tag === 0x87) out.ip.push(ipString(contentOf(der, name)));
    else if (name.tag === 0xa0) {
      // otherName { type-id OID, value [0] EXPLICIT ANY }
      const [type, value] = childrenOf(der, name);
      if (!type || !value || value.tag !== 0xa0) continue;
      if (oidString(der, type) !== UPN_OID) continue;
      const inner = childrenOf(der, value)[0];
      if (inner) out.upn.push(stringValue(der, inner));
    }
  }
  return out;
}

function keyIdentifier(der: Uint8Array, value: Tlv): string {
  return contentOf(der, expectTag(value, Tag.OCTET_STRING, 'SubjectKeyIdentifier')).toString('hex');
}

function authorityKeyId(der: Uint8Array, value: Tlv): string | null {
  const seq = expectTag(value, Tag.SEQUENCE, 'AuthorityKeyIdentifier');
  const id = childrenOf(der, seq).find((t) => t.tag === 0x80);
  return id ? contentOf(der, id).toString('hex') : null;
}

function basicConstraintsCa(der: Uint8Array, value: Tlv): boolean {
  const first = childrenOf(der, expectTag(value, Tag.SEQUENCE, 'BasicConstraints'))[0];
  return first?.tag === Tag.BOOLEAN && first.end - first.start === 1 && der[first.start] !== 0;
}

/** Decodes the extensions the model carries; throws E_CERT_INVALID when one is malformed. */
export function decodeExtensions(der: Uint8Array, list: readonly Extension[]): DecodedExtensions {
  const out: DecodedExtensions = {
    keyUsage: null,
    extendedKeyUsage: null,
    subjectAltNames: { dns: [], email: [], upn: [], ip: [], uri: [] },
    policies: [],
    subjectKeyId: null,
    authorityKeyId: null,
    ca: false,
  };
  for (const { oid, value } of list) {
    if (oid === ExtensionOid.keyUsage) out.keyUsage = keyUsageMask(der, value);
    else if (oid === ExtensionOid.extKeyUsage) out.extendedKeyUsage = oids(der, value);
    else if (oid === ExtensionOid.subjectAltName) out.subjectAltNames = altNames(der, value);
    else if (oid === ExtensionOid.certificatePolicies)
      out.policies = childrenOf(der, expectTag(value, Tag.SEQUENCE, 'policies')).map((p) =>
        oidString(der, childrenOf(der, p)[0] ?? p),
      );
    else if (oid === ExtensionOid.subjectKeyIdentifier) out.subjectKeyId = keyIdentifier(der, value);
    else if (oid === ExtensionOid.authorityKeyIdentifier) out.authorityKeyId = authorityKeyId(der, value);
    else if (oid === ExtensionOid.basicConstraints) out.ca = basicConstraintsCa(der, value);
  }
  return out;
}
