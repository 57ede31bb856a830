/**
 * The two KeyUsage bits a TLS server certificate needs, read from the certificate's
 * extensions list.
 *
 * Node's X509Certificate does not expose KeyUsage, so this uses the certs package's DER reader
 * (`@tandem/certs/der`), which walks only the structure RFC 5280 fixes: tbsCertificate's fields
 * before `[3] extensions` are skipped whole, so bytes inside a subject or issuer name can never
 * be mistaken for an extension. Anything that does not parse exactly is reported as unreadable
 * (fail closed).
 */
import { certificateExtensions, ExtensionOid, keyUsageMask } from '@tandem/certs/der';
import { ErrorCodes, isTandemError } from '@tandem/common';

/** KeyUsage of a certificate: null when the extension is absent, 'unreadable' when malformed. */
export function serverKeyUsage(
  der: Buffer,
): { digitalSignature: boolean; keyEncipherment: boolean } | null | 'unreadable' {
  try {
    const ku = certificateExtensions(der).find((e) => e.oid === ExtensionOid.keyUsage);
    if (!ku) return null;
    const mask = keyUsageMask(der, ku.value);
    // RFC 5280 bit 0 is digitalSignature, bit 2 keyEncipherment.
    return { digitalSignature: (mask & 1) !== 0, keyEncipherment: (mask & 4) !== 0 };
  } catch (err) {
    if (isTandemError(err) && err.code === ErrorCodes.CERT_INVALID) return 'unreadable';
    throw err;
  }
}
