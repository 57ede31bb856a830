/**
 * The two KeyUsage bits a TLS server certificate needs, read from the certificate's
 * extensions list.
 *
 * Node's X509Certificate does not expose KeyUsage, and loading a full ASN.1 library for these
 * two bits cost ~70 ms at every start (time to tunnel up is a product metric). So this walks
 * the DER itself, but only along the structure RFC 5280 fixes: Certificate → tbsCertificate →
 * the fields before `[3] extensions` (skipped whole, so bytes inside a subject or issuer name
 * can never be mistaken for an extension) → each Extension { extnID, critical?, extnValue } →
 * the KeyUsage BIT STRING. Anything that does not parse exactly is reported as unreadable
 * (fail closed).
 */

/** DER OID 2.5.29.15 (id-ce-keyUsage), content bytes only. */
const KU_OID = Buffer.from([0x55, 0x1d, 0x0f]);

interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one DER TLV at `at` within `[at, limit)`; null when it is truncated or not DER-sized. */
function tlv(der: Buffer, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = der[at]!;
  // Multi-byte tags never occur in the part of a certificate read here.
  if ((tag & 0x1f) === 0x1f) return null;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  return end > limit ? null : { tag, start, end };
}

/** The contents of each Extension in tbsCertificate, or null when the structure is malformed. */
function extensions(der: Buffer): Tlv[] | null {
  const cert = tlv(der, 0, der.length);
  if (!cert || cert.tag !== 0x30) return null;
  const tbs = tlv(der, cert.start, cert.end);
  if (!tbs || tbs.tag !== 0x30) return null;
  let at = tbs.start;
  while (at < tbs.end) {
    const field = tlv(der, at, tbs.end);
    if (!field) return null;
    if (field.tag === 0xa3) {
      const list = tlv(der, field.start, field.end);
      if (!list || list.tag !== 0x30 || list.end !== field.end) return null;
      const out: Tlv[] = [];
      for (let e = list.start; e < list.end;) {
        const ext = tlv(der, e, list.end);
        if (!ext || ext.tag !== 0x30) return null;
        out.push(ext);
        e = ext.end;
      }
      return out;
    }
    at = field.end;
  }
  return [];
}

/** The KeyUsage bits of one extnValue, or 'unreadable'. */
function keyUsageBits(
  der: Buffer,
  ext: Tlv,
  oidEnd: number,
): { digitalSignature: boolean; keyEncipherment: boolean } | 'unreadable' {
  let next = tlv(der, oidEnd, ext.end);
  if (next?.tag === 0x01) {
    if (next.end - next.start !== 1) return 'unreadable';
    next = tlv(der, next.end, ext.end);
  }
  if (!next || next.tag !== 0x04 || next.end !== ext.end) return 'unreadable';
  const bits = tlv(der, next.start, next.end);
  if (!bits || bits.tag !== 0x03 || bits.end !== next.end || bits.end - bits.start < 1 || bits.end - bits.start > 3)
    return 'unreadable';
  const unused = der[bits.start]!;
  if (unused > 7) return 'unreadable';
  // DER bit strings are MSB first: bit 0 (digitalSignature) is 0x80, bit 2 (keyEncipherment) 0x20.
  const first = bits.end - bits.start > 1 ? der[bits.start + 1]! : 0;
  return { digitalSignature: (first & 0x80) !== 0, keyEncipherment: (first & 0x20) !== 0 };
}

/** KeyUsage of a certificate: null when the extension is absent, 'unreadable' when malformed. */
export function serverKeyUsage(
  der: Buffer,
): { digitalSignature: boolean; keyEncipherment: boolean } | null | 'unreadable' {
  const list = extensions(der);
  if (!list) return 'unreadable';
  for (const ext of list) {
    const oid = tlv(der, ext.start, ext.end);
    if (!oid || oid.tag !== 0x06) return 'unreadable';
    if (oid.end - oid.start === KU_OID.length && der.subarray(oid.start, oid.end).equals(KU_OID))
      return keyUsageBits(der, ext, oid.end);
  }
  return null;
}
