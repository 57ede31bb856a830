/**
 * The one DER reader of the project, for X.509 certificates: Node's X509Certificate verifies
 * signatures and describes keys, but does not expose KeyUsage, policies, key identifiers or the
 * attributes of a DN in order. A general ASN.1 library (with its schema machinery) cost the
 * long-lived agent ~20 MiB resident and tens of milliseconds at start, for a handful of
 * fields; this walks only the structure RFC 5280 fixes and fails closed (E_CERT_INVALID) on
 * anything that does not parse exactly.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/** One DER element: its tag and where it and its content lie in the buffer it was read from. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** Universal and context tags the certificate reader meets. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
} as const;

/** Throws the reader's E_CERT_INVALID for `what`. */
export function malformed(what: string): never {
  throw new TandemError(ErrorCodes.CERT_INVALID, `malformed DER: ${what}`);
}

/** Reads one element at `at`, which must end within `limit`. */
export function readTlv(der: Uint8Array, at: number, limit: number = der.length): Tlv {
  if (at + 2 > limit) malformed('truncated element');
  const tag = der[at]!;
  // Multi-byte tags never occur in the parts of a certificate read here.
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte tag');
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) malformed('length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) malformed('length beyond its container');
  return { tag, at, start, end };
}

/** Reads one element at `at` and checks its tag. */
export function expectTlv(der: Uint8Array, at: number, limit: number, tag: number, what: string): Tlv {
  return expectTag(readTlv(der, at, limit), tag, what);
}

/** Checks the tag of an element already read. */
export function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) malformed(`${what}: tag 0x${t.tag.toString(16)}`);
  return t;
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** The content bytes of an element (a view, not a copy). */
export function contentOf(der: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(der.buffer, der.byteOffset + t.start, t.end - t.start);
}

/** Dotted form of an OBJECT IDENTIFIER element. */
export function oidString(der: Uint8Array, t: Tlv): string {
  if (t.tag !== Tag.OID || t.end === t.start) malformed('object identifier');
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = t.start; i < t.end; i++) {
    const b = der[i]!;
    v = (v << 7n) | BigInt(b & 0x7f);
    if (b & 0x80) continue;
    arcs.push(v);
    v = 0n;
  }
  if (der[t.end - 1]! & 0x80) malformed('object identifier');
  const first = arcs[0]!;
  const top = first < 40n ? 0n : first < 80n ? 1n : 2n;
  return [top, first - top * 40n, ...arcs.slice(1)].join('.');
}

function utf16be(bytes: Buffer): string {
  const le = Buffer.from(bytes);
  le.swap16();
  return le.toString('utf16le');
}

function utf32be(bytes: Buffer): string {
  let s = '';
  for (let i = 0; i + 3 < bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
  return s;
}

/**
 * The text of a string element (UTF8String, PrintableString, IA5String, BMPString, …); an
 * element of any other type reads as `#` and the hex of its whole encoding (RFC 4514 §2.4).
 */
export function stringValue(der: Uint8Array, t: Tlv): string {
  const c = contentOf(der, t);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return c.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString (in practice Latin-1)
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return c.toString('latin1');
    case 0x1e: // BMPString
      if (c.length % 2) malformed('BMPString');
      return utf16be(c);
    case 0x1c: // UniversalString
      if (c.length % 4) malformed('UniversalString');
      return utf32be(c);
    default:
      return `#${Buffer.from(der.subarray(t.at, t.end)).toString('hex')}`;
  }
}

/** The certificate-level elements a reader needs, located once. */
export interface CertificateDer {
  der: Uint8Array;
  serial: Tlv;
  issuer: Tlv;
  subject: Tlv;
  spki: Tlv;
  /** Each Extension SEQUENCE of tbsCertificate, in order (empty when there is no `[3]`). */
  extensions: Tlv[];
}

/**
 * Locates the fields of a Certificate (RFC 5280 §4.1): tbsCertificate's serial, issuer,
 * subject, subjectPublicKeyInfo and the extensions list, whose bytes are skipped whole until
 * reached, so a name can never be mistaken for an extension.
 */
export function locateCertificate(der: Uint8Array): CertificateDer {
  const cert = expectTlv(der, 0, der.length, Tag.SEQUENCE, 'Certificate');
  if (cert.end !== der.length) malformed('bytes after the certificate');
  const tbs = expectTlv(der, cert.start, cert.end, Tag.SEQUENCE, 'tbsCertificate');
  const fields = childrenOf(der, tbs);
  // version [0] EXPLICIT is optional (absent = v1).
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const next = (tag: number, what: string): Tlv => {
    const f = fields[i++];
    if (!f || f.tag !== tag) malformed(what);
    return f;
  };
  const serial = next(Tag.INTEGER, 'serialNumber');
  next(Tag.SEQUENCE, 'signature');
  const issuer = next(Tag.SEQUENCE, 'issuer');
  next(Tag.SEQUENCE, 'validity');
  const subject = next(Tag.SEQUENCE, 'subject');
  const spki = next(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const ext = fields.slice(i).find((f) => f.tag === 0xa3);
  let extensions: Tlv[] = [];
  if (ext) {
    const list = expectTlv(der, ext.start, ext.end, Tag.SEQUENCE, 'extensions');
    if (list.end !== ext.end) malformed('extensions');
    extensions = childrenOf(der, list);
    if (extensions.some((e) => e.tag !== Tag.SEQUENCE)) malformed('extension');
  }
  return { der, serial, issuer, subject, spki, extensions };
}

/** Extension OIDs. */
export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/** One extension: its OID, criticality and the contents of extnValue (the encoded value). */
export interface Extension {
  oid: string;
  critical: boolean;
  /** The element inside extnValue's OCTET STRING. */
  value: Tlv;
}

/** Reads `Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`. */
export function readExtension(der: Uint8Array, ext: Tlv): Extension {
  const parts = childrenOf(der, ext);
  const oid = oidString(der, parts[0] ?? malformed('extnID'));
  let critical = false;
  let k = 1;
  if (parts[k]?.tag === Tag.BOOLEAN) {
    const b = parts[k++]!;
    if (b.end - b.start !== 1) malformed('critical');
    critical = der[b.start] !== 0;
  }
  const octets = parts[k];
  if (!octets || octets.tag !== Tag.OCTET_STRING || k !== parts.length - 1) malformed(`extension ${oid}`);
  const value = readTlv(der, octets.start, octets.end);
  if (value.end !== octets.end) malformed(`extension ${oid}`);
  return { oid, critical, value };
}

/** Every extension of a certificate, in certificate order. */
export function certificateExtensions(der: Uint8Array): Extension[] {
  return locateCertificate(der).extensions.map((e) => readExtension(der, e));
}

/**
 * The bits of a KeyUsage BIT STRING as a mask, bit n (RFC 5280 numbering: 0 digitalSignature …
 * 8 decipherOnly) at 1 << n.
 */
export function keyUsageMask(der: Uint8Array, bits: Tlv): number {
  const len = bits.end - bits.start;
  if (bits.tag !== Tag.BIT_STRING || len < 1 || len > 3) malformed('KeyUsage');
  const unused = der[bits.start]!;
  if (unused > 7) malformed('KeyUsage');
  let mask = 0;
  // DER bit strings are MSB first: bit 0 is 0x80 of the first content byte after the count.
  for (let n = 0; n < (len - 1) * 8; n++) if (der[bits.start + 1 + (n >> 3)]! & (0x80 >> (n & 7))) mask |= 1 << n;
  return mask;
}

/** Big-endian hex of a positive INTEGER, without the DER sign byte (00 before a high bit). */
export function integerHex(der: Uint8Array, t: Tlv): string {
  let c = contentOf(der, t);
  if (c.length > 1 && c[0] === 0 && c[1]! > 0x7f) c = c.subarray(1);
  return c.toString('hex');
}
