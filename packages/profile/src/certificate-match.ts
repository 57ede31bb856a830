/**
 * `ClientInitialization/CertificateMatch` (docs/profile.md#certificate-matching). Named EKUs are mapped to dotted OIDs
 * here so the certificate selector compares OIDs only. A rule that cannot be understood is
 * reported with a warning, as Cisco's library logs "not recognized", but unlike silently
 * dropping it we record it in `unusableRules` and the selector then accepts no certificate:
 * a dropped rule would make the match broader than the administrator wrote (fail closed).
 */
import type { CertificateMatch, DistinguishedNameRule, ExtendedKeyUsageName, KeyUsageName } from './model.js';
import { boolValue, Children, clip, type WarningSink } from './reader.js';
import type { XmlElement } from '@tandem/xml';

const CLOSED = 'no certificate matches until it is fixed';

/** Records an unusable rule: a warning for the administrator and a fail-closed marker for the selector. */
function unusable(
  sink: WarningSink,
  match: CertificateMatch,
  el: XmlElement | { line: number; column: number },
  message: string,
): void {
  sink.add(el as XmlElement, 'unusable-rule', `${message}; ${CLOSED}`);
  match.unusableRules.push(`line ${el.line}: ${message}`);
}

/** Key usage names in the order of the profile schema's table. */
export const KEY_USAGE_NAMES: readonly KeyUsageName[] = [
  'Decipher_Only',
  'Encipher_Only',
  'CRL_Sign',
  'Key_Cert_Sign',
  'Key_Agreement',
  'Data_Encipherment',
  'Key_Encipherment',
  'Non_Repudiation',
  'Digital_Signature',
];

/** Named EKU → OID (confirmed against the Secure Client 5.1 library string table). */
export const EKU_OIDS: ReadonlyMap<ExtendedKeyUsageName, string> = new Map<ExtendedKeyUsageName, string>([
  ['ServerAuth', '1.3.6.1.5.5.7.3.1'],
  ['ClientAuth', '1.3.6.1.5.5.7.3.2'],
  ['CodeSign', '1.3.6.1.5.5.7.3.3'],
  ['EmailProtect', '1.3.6.1.5.5.7.3.4'],
  ['IPSecEndSystem', '1.3.6.1.5.5.7.3.5'],
  ['IPSecTunnel', '1.3.6.1.5.5.7.3.6'],
  ['IPSecUser', '1.3.6.1.5.5.7.3.7'],
  ['TimeStamp', '1.3.6.1.5.5.7.3.8'],
  ['OCSPSign', '1.3.6.1.5.5.7.3.9'],
  ['DVCS', '1.3.6.1.5.5.7.3.10'],
  ['IKEIntermediate', '1.3.6.1.5.5.8.2.2'],
]);

/** DN attribute abbreviations accepted in `DistinguishedNameDefinition/Name` (also with `ISSUER-`). */
export const DN_ATTRIBUTES: readonly string[] = [
  'CN',
  'DC',
  'SN',
  'GN',
  'N',
  'I',
  'GENQ',
  'DNQ',
  'C',
  'L',
  'SP',
  'ST',
  'O',
  'OU',
  'T',
  'EA',
];

const OID = /^[0-2](\.(0|[1-9][0-9]{0,9})){1,20}$/;
const MAX_CUSTOM_EKU = 10;
const MAX_DN_RULES = 10;
const MAX_PATTERN = 30;

function readKeyUsage(el: XmlElement, sink: WarningSink, match: CertificateMatch): KeyUsageName[] {
  const out: KeyUsageName[] = [];
  for (const key of new Children(el, new Set(['MatchKey']), sink, new Set(['MatchKey'])).all('MatchKey')) {
    const hit = KEY_USAGE_NAMES.find((k) => k.toLowerCase() === key.text.toLowerCase());
    if (!hit) unusable(sink, match, key, `unknown key usage "${clip(key.text)}"`);
    else if (!out.includes(hit)) out.push(hit);
  }
  return out;
}

function readEku(el: XmlElement, sink: WarningSink, match: CertificateMatch): void {
  const names = new Set(['ExtendedMatchKey', 'CustomExtendedMatchKey']);
  const kids = new Children(el, names, sink, names);
  for (const key of kids.all('ExtendedMatchKey')) {
    const name = [...EKU_OIDS.keys()].find((k) => k.toLowerCase() === key.text.toLowerCase());
    if (!name) {
      unusable(sink, match, key, `unknown extended key usage "${clip(key.text)}"`);
      continue;
    }
    const oid = EKU_OIDS.get(name) as string;
    if (!match.extendedKeyUsageNames.includes(name)) match.extendedKeyUsageNames.push(name);
    if (!match.extendedKeyUsage.includes(oid)) match.extendedKeyUsage.push(oid);
  }
  for (const key of kids.all('CustomExtendedMatchKey')) {
    if (match.customExtendedKeyUsage.length >= MAX_CUSTOM_EKU) {
      unusable(sink, match, key, `more than ${MAX_CUSTOM_EKU} CustomExtendedMatchKey entries`);
      continue;
    }
    if (!OID.test(key.text) || key.text.length > MAX_PATTERN) {
      unusable(
        sink,
        match,
        key,
        `CustomExtendedMatchKey "${clip(key.text)}" is not a dotted OID of at most 30 characters`,
      );
      continue;
    }
    if (!match.customExtendedKeyUsage.includes(key.text)) match.customExtendedKeyUsage.push(key.text);
    if (!match.extendedKeyUsage.includes(key.text)) match.extendedKeyUsage.push(key.text);
  }
}

function readEnabled(def: XmlElement, attr: string, fallback: boolean, sink: WarningSink): boolean {
  const a = def.attributes.get(attr);
  if (!a) return fallback;
  const v = a.value.trim().toLowerCase();
  if (v === 'enabled') return true;
  if (v === 'disabled') return false;
  sink.add(
    a,
    'bad-value',
    `${attr}="${clip(a.value)}" is not Enabled/Disabled; using ${fallback ? 'Enabled' : 'Disabled'}`,
  );
  return fallback;
}

function readDnRule(def: XmlElement, sink: WarningSink, match: CertificateMatch): DistinguishedNameRule | null {
  const kids = new Children(def, new Set(['Name', 'Pattern']), sink);
  const nameEl = kids.one('Name');
  const patternEl = kids.one('Pattern');
  if (!nameEl || !patternEl || patternEl.text === '') {
    unusable(sink, match, def, 'DistinguishedNameDefinition needs both <Name> and a non-empty <Pattern>');
    return null;
  }
  const name = nameEl.text.toUpperCase();
  const issuer = name.startsWith('ISSUER-');
  const attribute = issuer ? name.slice('ISSUER-'.length) : name;
  if (!DN_ATTRIBUTES.includes(attribute)) {
    unusable(sink, match, nameEl, `unknown DN attribute "${clip(nameEl.text)}"`);
    return null;
  }
  const pattern = patternEl.text.replace(/\s+/g, ' ');
  if (pattern.length > MAX_PATTERN) {
    sink.add(
      patternEl,
      'out-of-range',
      `Pattern is longer than the schema's ${MAX_PATTERN} characters; used as written`,
    );
  }
  let operator: 'Equal' | 'NotEqual' = 'Equal';
  const op = def.attributes.get('Operator');
  if (op) {
    const v = op.value.trim().toLowerCase();
    if (v === 'notequal') operator = 'NotEqual';
    else if (v !== 'equal')
      sink.add(op, 'bad-value', `Operator="${clip(op.value)}" is not Equal/NotEqual; using Equal`);
  }
  return {
    name,
    issuer,
    attribute,
    pattern,
    wildcard: readEnabled(def, 'Wildcard', false, sink),
    operator,
    matchCase: readEnabled(def, 'MatchCase', true, sink),
    line: def.line,
  };
}

/** Reads a `CertificateMatch` element. */
export function readCertificateMatch(el: XmlElement, sink: WarningSink): CertificateMatch {
  const kids = new Children(
    el,
    new Set(['MatchOnlyCertsWithKU', 'MatchOnlyCertsWithEKU', 'KeyUsage', 'ExtendedKeyUsage', 'DistinguishedName']),
    sink,
  );
  const match: CertificateMatch = {
    keyUsage: [],
    extendedKeyUsage: [],
    extendedKeyUsageNames: [],
    customExtendedKeyUsage: [],
    distinguishedName: [],
    matchOnlyCertsWithKU: boolValue(kids.one('MatchOnlyCertsWithKU'), false, sink),
    matchOnlyCertsWithEKU: boolValue(kids.one('MatchOnlyCertsWithEKU'), false, sink),
    unusableRules: [],
  };
  const ku = kids.one('KeyUsage');
  if (ku) match.keyUsage = readKeyUsage(ku, sink, match);
  const eku = kids.one('ExtendedKeyUsage');
  if (eku) readEku(eku, sink, match);
  const dn = kids.one('DistinguishedName');
  if (dn) {
    const defs = new Children(
      dn,
      new Set(['DistinguishedNameDefinition']),
      sink,
      new Set(['DistinguishedNameDefinition']),
    );
    for (const def of defs.all('DistinguishedNameDefinition')) {
      if (match.distinguishedName.length >= MAX_DN_RULES) {
        sink.add(
          def,
          'out-of-range',
          `more than ${MAX_DN_RULES} DistinguishedNameDefinition rules; all are kept (every rule must hold)`,
        );
      }
      const rule = readDnRule(def, sink, match);
      if (rule) match.distinguishedName.push(rule);
    }
  }
  return match;
}
