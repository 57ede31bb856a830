/**
 * Session username from a certificate, as FTD/ASA map it: the chosen certificate (first =
 * machine, second = user; "username-from-certificate-choice") and the chosen subject field
 * (primary attribute CN by default, or OU, UID, EA…; DN = the whole subject string).
 */
import type { X509Certificate } from 'node:crypto';
import { CertificateModel, dnString } from '@tandem/certs';

/** Subject field abbreviations → attribute OIDs (Cisco's names, plus UID and E). */
const FIELD_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  SP: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  GN: '2.5.4.42',
  I: '2.5.4.43',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  EA: '1.2.840.113549.1.9.1',
  E: '1.2.840.113549.1.9.1',
};

/** The subject DN in `CN=…, OU=…` form, certificate order. */
export function subjectDn(cert: X509Certificate): string {
  return dnString(new CertificateModel(cert.raw).subject);
}

/**
 * The username for `field` from `cert`, or null when the certificate has no such attribute
 * (the gateway then refuses the login, as an ASA does when the mapping yields nothing).
 * With several values (two OUs) the first in certificate order wins.
 */
export function usernameFrom(cert: X509Certificate, field: string): string | null {
  const upper = field.toUpperCase();
  if (upper === 'DN') return subjectDn(cert);
  const oid = FIELD_OIDS[upper];
  if (!oid) return null;
  const attrs = new CertificateModel(cert.raw).subject;
  const hit = attrs.find((a) => a.oid === oid);
  return hit && hit.value.length > 0 ? hit.value : null;
}
