/**
 * `CertificateMatch` rules (docs/profile.md#certificate-matching, steps 2–4 and the default), each returning plain-words reasons for a
 * failure, so a rejection can be explained to an administrator exactly as it was decided.
 */
import type { CertificateMatch, DistinguishedNameRule, KeyUsageName } from '@tandem/profile';
import { valuesFor } from './dn.js';
import type { CertificateModel } from './model.js';

/** RFC 5280 names for the EKU OIDs AnyConnect knows, used in reasons (`EKU clientAuth missing`). */
const EKU_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.3.6.1.5.5.7.3.1', 'serverAuth'],
  ['1.3.6.1.5.5.7.3.2', 'clientAuth'],
  ['1.3.6.1.5.5.7.3.3', 'codeSigning'],
  ['1.3.6.1.5.5.7.3.4', 'emailProtection'],
  ['1.3.6.1.5.5.7.3.5', 'ipsecEndSystem'],
  ['1.3.6.1.5.5.7.3.6', 'ipsecTunnel'],
  ['1.3.6.1.5.5.7.3.7', 'ipsecUser'],
  ['1.3.6.1.5.5.7.3.8', 'timeStamping'],
  ['1.3.6.1.5.5.7.3.9', 'OCSPSigning'],
  ['1.3.6.1.5.5.7.3.10', 'dvcs'],
  ['1.3.6.1.5.5.8.2.2', 'ikeIntermediate'],
]);

/** Readable name of an EKU OID (the OID itself when it has no well-known name). */
export function ekuName(oid: string): string {
  return EKU_NAMES.get(oid) ?? oid;
}

/**
 * The rule set used when the profile has no `CertificateMatch`: KeyUsage Digital_Signature and
 * EKU ClientAuth. [unverified] This Cisco default comes from the admin guide, not from an
 * observed client (docs/profile.md#certificate-matching); it is kept as a documented default.
 */
export const DEFAULT_CERTIFICATE_MATCH: CertificateMatch = {
  keyUsage: ['Digital_Signature'],
  extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
  extendedKeyUsageNames: ['ClientAuth'],
  customExtendedKeyUsage: [],
  distinguishedName: [],
  matchOnlyCertsWithKU: false,
  matchOnlyCertsWithEKU: false,
  unusableRules: [],
};

/** Step 2: at least one listed key usage (OR); a missing extension fails only with MatchOnlyCertsWithKU. */
export function keyUsageReasons(model: CertificateModel, match: CertificateMatch): string[] {
  if (model.keyUsage === null) {
    return match.matchOnlyCertsWithKU ? ['no KeyUsage extension (MatchOnlyCertsWithKU is true)'] : [];
  }
  if (match.keyUsage.length === 0) return [];
  const has = new Set<KeyUsageName>(model.keyUsage);
  return match.keyUsage.some((k) => has.has(k)) ? [] : [`KeyUsage ${match.keyUsage.join(' or ')} missing`];
}

/** Step 3: every listed EKU OID (AND); a missing extension fails only with MatchOnlyCertsWithEKU. */
export function ekuReasons(model: CertificateModel, match: CertificateMatch): string[] {
  if (model.extendedKeyUsage === null) {
    return match.matchOnlyCertsWithEKU ? ['no ExtendedKeyUsage extension (MatchOnlyCertsWithEKU is true)'] : [];
  }
  const has = new Set(model.extendedKeyUsage);
  return [...new Set(match.extendedKeyUsage)]
    .filter((oid) => !has.has(oid))
    .map((oid) => `EKU ${ekuName(oid)} missing`);
}

function valueMatches(value: string, rule: DistinguishedNameRule): boolean {
  const v = rule.matchCase ? value : value.toLowerCase();
  const p = rule.matchCase ? rule.pattern : rule.pattern.toLowerCase();
  // Wildcard means "pattern occurs anywhere" (substring); there is no glob syntax.
  return rule.wildcard ? v.includes(p) : v === p;
}

/** True when one DN rule holds: Equal = any value matches; NotEqual = no value matches (step 4). */
export function dnRuleHolds(model: CertificateModel, rule: DistinguishedNameRule): boolean {
  const values = valuesFor(rule.issuer ? model.issuer : model.subject, rule.attribute);
  const any = values.some((v) => valueMatches(v, rule));
  return rule.operator === 'Equal' ? any : !any;
}

/** The reason text for a failed DN rule: `DN rule <NAME> <Operator> '<pattern>'[ wildcard] not met`. */
export function dnRuleReason(rule: DistinguishedNameRule): string {
  return `DN rule ${rule.name} ${rule.operator} '${rule.pattern}'${rule.wildcard ? ' wildcard' : ''} not met`;
}

/** Step 4: every DN rule must hold (AND). */
export function dnReasons(model: CertificateModel, match: CertificateMatch): string[] {
  return match.distinguishedName.filter((r) => !dnRuleHolds(model, r)).map(dnRuleReason);
}

/** A profile rule the parser could not understand fails every certificate (see the model's `unusableRules`). */
export function unusableRuleReasons(match: CertificateMatch): string[] {
  return (match.unusableRules ?? []).map((r) => `profile CertificateMatch rule not understood (${r})`);
}

/** All `CertificateMatch` reasons (or the default rule set's when `match` is null). */
export function certificateMatchReasons(model: CertificateModel, match: CertificateMatch | null): string[] {
  const m = match ?? DEFAULT_CERTIFICATE_MATCH;
  return [...unusableRuleReasons(m), ...keyUsageReasons(model, m), ...ekuReasons(model, m), ...dnReasons(model, m)];
}
