/**
 * Distinguished names as ordered attribute lists, the AnyConnect attribute abbreviations used by
 * `DistinguishedNameDefinition/Name` (docs/profile.md#certificate-matching), and the string forms we print.
 */
import { childrenOf, expectTag, malformed, oidString, stringValue, Tag, type Tlv } from './der.js';

/** One attribute of a DN, in certificate order (the order of the RDN sequence). */
export interface DnAttribute {
  /** Short name (`CN`, `OU`, `DC`, `E`, …) or the dotted OID when the type has no short name. */
  type: string;
  oid: string;
  value: string;
}

/** Short names we print for attribute types (the dotted OID for any other type). */
const SHORT_TO_OID: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  G: '2.5.4.42',
  I: '2.5.4.43',
  GENQ: '2.5.4.44',
  DNQ: '2.5.4.46',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
  N: '1.2.840.113549.1.9.2',
};
const OID_TO_SHORT: ReadonlyMap<string, string> = new Map(Object.entries(SHORT_TO_OID).map(([k, v]) => [v, k]));

/**
 * AnyConnect `Name` abbreviations (without `ISSUER-`) → attribute OID. `SP` and `ST` are both
 * stateOrProvinceName; `EA` is the PKCS#9 emailAddress; `N` is PKCS#9 unstructuredName.
 */
export const CISCO_DN_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  DC: '0.9.2342.19200300.100.1.25',
  SN: '2.5.4.4',
  GN: '2.5.4.42',
  N: '1.2.840.113549.1.9.2',
  I: '2.5.4.43',
  GENQ: '2.5.4.44',
  DNQ: '2.5.4.46',
  C: '2.5.4.6',
  L: '2.5.4.7',
  SP: '2.5.4.8',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  T: '2.5.4.12',
  EA: '1.2.840.113549.1.9.1',
};

/**
 * Reads a DER Name (`SEQUENCE OF SET OF AttributeTypeAndValue`) into its attribute list,
 * keeping the certificate's order; throws E_CERT_INVALID when it is malformed.
 */
export function dnAttributes(der: Uint8Array, name: Tlv): DnAttribute[] {
  const out: DnAttribute[] = [];
  for (const rdn of childrenOf(der, expectTag(name, Tag.SEQUENCE, 'Name'))) {
    if (rdn.tag !== 0x31) malformed('RelativeDistinguishedName');
    for (const atv of childrenOf(der, rdn)) {
      const parts = atv.tag === Tag.SEQUENCE ? childrenOf(der, atv) : [];
      const [type, value] = parts;
      if (!type || !value || parts.length !== 2) malformed('AttributeTypeAndValue');
      const oid = oidString(der, type);
      out.push({ type: OID_TO_SHORT.get(oid) ?? oid, oid, value: stringValue(der, value) });
    }
  }
  return out;
}

/** All values of the attribute named by an AnyConnect abbreviation (empty when absent or unknown). */
export function valuesFor(attrs: readonly DnAttribute[], ciscoName: string): string[] {
  const oid = CISCO_DN_OIDS[ciscoName.toUpperCase()];
  return oid === undefined ? [] : attrs.filter((a) => a.oid === oid).map((a) => a.value);
}

function escapeValue(value: string): string {
  // RFC 4514 escaping of the characters that would otherwise split or end an attribute.
  return value
    .replace(/([,+"\\<>;=])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

/** `CN=alice, OU=users, O=Lab` in certificate order (the form OpenSSL and our CLI print). */
export function dnString(attrs: readonly DnAttribute[]): string {
  return attrs.map((a) => `${a.type}=${escapeValue(a.value)}`).join(', ');
}

/**
 * The DN as Microsoft Entra writes it in certificateUserIds, e.g.
 * `DC=com,DC=contoso,OU=UserAccounts,CN=mfatest`: attributes in the order of the encoded RDN
 * sequence (X.500 order, most-significant first for a CA-issued certificate that encodes
 * `DC=com` first, as AD CS does), comma-joined without spaces and without escaping.
 * [unverified] Entra's rule for certificates that encode CN first (as our lab certificates do)
 * and for rare attribute types; the documented examples only show DC/OU/CN.
 */
export function entraDn(attrs: readonly DnAttribute[]): string {
  return attrs.map((a) => `${a.type}=${a.value}`).join(',');
}
