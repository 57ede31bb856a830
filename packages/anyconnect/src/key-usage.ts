/**
 * The two KeyUsage bits a TLS server certificate needs, read straight from the DER.
 *
 * Node's X509Certificate does not expose KeyUsage, and loading a full ASN.1 library for these
 * two bits cost ~70 ms at every start (time to tunnel up is a product metric). The extension's
 * encoding is fixed by RFC 5280: OID 2.5.29.15, optional BOOLEAN critical, OCTET STRING holding
 * a BIT STRING. Anything that does not parse exactly is reported as unreadable (fail closed).
 */

const KU_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);

/** KeyUsage of a certificate: null when the extension is absent, 'unreadable' when malformed. */
export function serverKeyUsage(der: Buffer): { digitalSignature: boolean; keyEncipherment: boolean } | null | 'unreadable' {
  const at = der.indexOf(KU_OID);
  if (at < 0) return null;
  let i = at + KU_OID.length;
  if (der[i] === 0x01) {
    if (der[i + 1] !== 0x01) return 'unreadable';
    i += 3; // BOOLEAN critical
  }
  if (der[i] !== 0x04) return 'unreadable';
  const octetLen = der[i + 1] ?? 0;
  if (octetLen < 3 || octetLen > 5) return 'unreadable';
  i += 2;
  if (der[i] !== 0x03 || der[i + 1] !== octetLen - 2) return 'unreadable';
  const unused = der[i + 2] ?? 8;
  if (unused > 7) return 'unreadable';
  // DER bit strings are MSB first: bit 0 (digitalSignature) is 0x80, bit 2 (keyEncipherment) 0x20.
  const first = octetLen - 2 > 1 ? (der[i + 3] ?? 0) : 0;
  return { digitalSignature: (first & 0x80) !== 0, keyEncipherment: (first & 0x20) !== 0 };
}
