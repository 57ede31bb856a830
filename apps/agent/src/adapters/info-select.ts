/**
 * Choosing the user certificate among what the user's process offered (`certs.list` returns
 * the contract's CertificateInfo: no DER, no key). The profile's CertificateMatch is applied
 * as far as those fields allow: validity, EKU (AND, MatchOnlyCertsWithEKU), DN rules on the
 * subject/issuer strings, and rules the parser could not understand reject everything (fail
 * closed, as in @tandem/certs). KeyUsage is not in CertificateInfo; it is reported as not
 * checked here, and the gateway verifies the signature against the certificate it receives.
 */
import type { CertificateInfo } from '@tandem/contract';
import type { CertificateMatch, ClientInitialization, DistinguishedNameRule } from '@tandem/profile';
import { CISCO_DN_OIDS, DEFAULT_CERTIFICATE_MATCH } from '@tandem/certs';

/** The verdict on one offered certificate. */
export interface InfoVerdict {
  info: CertificateInfo;
  accepted: boolean;
  reasons: string[];
}

/** Splits an RFC 4514-style `CN=a, O=b` string (as the user side prints it) into attributes. */
export function parseDnString(dn: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let cur = '';
  const parts: string[] = [];
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) {
      cur += ch + dn[++i]!;
    } else if (ch === ',' || ch === '+') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const type = part.slice(0, eq).trim().toUpperCase();
    const value = part.slice(eq + 1).trim().replace(/\\(.)/g, '$1');
    out.push({ type, value });
  }
  return out;
}

const OID_BY_SHORT: Record<string, string> = { ...CISCO_DN_OIDS, EMAILADDRESS: CISCO_DN_OIDS['EA']!, E: CISCO_DN_OIDS['EA']!, S: CISCO_DN_OIDS['SP']!, GIVENNAME: CISCO_DN_OIDS['GN']! };

function dnRuleHolds(info: CertificateInfo, rule: DistinguishedNameRule): boolean {
  const wanted = CISCO_DN_OIDS[rule.attribute.toUpperCase()];
  const attrs = parseDnString(rule.issuer ? info.issuer : info.subject);
  const values = wanted === undefined ? [] : attrs.filter((a) => (OID_BY_SHORT[a.type] ?? a.type) === wanted).map((a) => a.value);
  const norm = (s: string): string => (rule.matchCase ? s : s.toLowerCase());
  const any = values.some((v) => (rule.wildcard ? norm(v).includes(norm(rule.pattern)) : norm(v) === norm(rule.pattern)));
  return rule.operator === 'Equal' ? any : !any;
}

function reasonsFor(info: CertificateInfo, match: CertificateMatch, now: Date): string[] {
  const reasons = match.unusableRules.map((r) => `profile CertificateMatch rule not understood (${r})`);
  if (new Date(info.notAfter) < now) reasons.push(`expired on ${info.notAfter.slice(0, 10)}`);
  if (new Date(info.notBefore) > now) reasons.push(`not valid before ${info.notBefore.slice(0, 10)}`);
  if (info.keyType !== 'rsa' && info.keyType !== 'ec') reasons.push(`key type ${info.keyType} cannot sign MCA`);
  if (info.eku === undefined) {
    if (match.matchOnlyCertsWithEKU && match.extendedKeyUsage.length > 0) reasons.push('no ExtendedKeyUsage extension (MatchOnlyCertsWithEKU is true)');
  } else {
    for (const oid of match.extendedKeyUsage) if (!info.eku.includes(oid)) reasons.push(`EKU ${oid} missing`);
  }
  for (const rule of match.distinguishedName) {
    if (!dnRuleHolds(info, rule)) reasons.push(`DN rule ${rule.name} ${rule.operator} '${rule.pattern}'${rule.wildcard ? ' wildcard' : ''} not met`);
  }
  return reasons;
}

/**
 * Verdicts for every offered certificate and the winner (latest notAfter, then SHA-256 as a
 * total tie-break, like @tandem/certs' ranking), or null when none is acceptable.
 */
export function selectOffered(offered: readonly CertificateInfo[], init: ClientInitialization, now: Date): { selected: CertificateInfo | null; verdicts: InfoVerdict[] } {
  const match = init.certificateMatch ?? DEFAULT_CERTIFICATE_MATCH;
  const verdicts = offered.map((info) => {
    const reasons = reasonsFor(info, match, now);
    return { info, accepted: reasons.length === 0, reasons };
  });
  const ok = verdicts.filter((v) => v.accepted).map((v) => v.info);
  ok.sort((a, b) => b.notAfter.localeCompare(a.notAfter) || a.sha256.localeCompare(b.sha256));
  return { selected: ok[0] ?? null, verdicts };
}
