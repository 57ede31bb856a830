/**
 * Microsoft Entra `certificateUserIds` binding strings for a certificate, so an administrator can
 * copy the exact value to put on a user object. Format as documented by Microsoft ("Map to the
 * certificateUserIds attribute in Microsoft Entra ID"): the `X509:<Mapping>` prefixes are
 * case-sensitive, DNs are written without spaces (see {@link entraDn}).
 */
import { entraDn } from './dn.js';
import type { CertificateModel } from './model.js';

/** One binding: the Entra mapping kind and the value to store. */
export interface CertificateBinding {
  kind:
    'IssuerAndSerialNumber' | 'Subject' | 'IssuerAndSubject' | 'SKI' | 'SHA1PublicKey' | 'PrincipalName' | 'RFC822Name';
  value: string;
}

/**
 * Every binding the certificate can express. Hex values are lower-case, as `certutil -dump`
 * prints them; the serial is in the certificate's own (big-endian) byte order because Entra's
 * documentation says to copy it from `certutil -dump -v`. [unverified] whether Entra compares
 * hex case-insensitively; note that on-premises AD `altSecurityIdentities` (KB5014754) wants
 * the serial byte-reversed, which is a different attribute and not produced here.
 */
export function certificateUserIds(model: CertificateModel): CertificateBinding[] {
  const issuer = entraDn(model.issuer);
  const subject = entraDn(model.subject);
  const out: CertificateBinding[] = [
    { kind: 'IssuerAndSerialNumber', value: `X509:<I>${issuer}<SR>${model.serialNumber}` },
    { kind: 'Subject', value: `X509:<S>${subject}` },
    { kind: 'IssuerAndSubject', value: `X509:<I>${issuer}<S>${subject}` },
  ];
  if (model.subjectKeyId) out.push({ kind: 'SKI', value: `X509:<SKI>${model.subjectKeyId}` });
  out.push({ kind: 'SHA1PublicKey', value: `X509:<SHA1-PUKEY>${model.publicKeySha1}` });
  for (const upn of model.subjectAltNames.upn) out.push({ kind: 'PrincipalName', value: `X509:<PN>${upn}` });
  for (const email of model.subjectAltNames.email) out.push({ kind: 'RFC822Name', value: `X509:<RFC822>${email}` });
  return out;
}
