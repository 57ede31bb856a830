/**
 * `CertificateEnrollment` (SCEP) and the `CertificatePinning` / `CertificatePinList`
 * elements shared by ClientInitialization and HostEntry (docs/profile.md#server-trust-and-pins). Parsed and shown; SCEP is
 * not performed by Tandem.
 */
import type { CertificateEnrollment, CertificatePin } from './model.js';
import { boolValue, Children, enumPref, intPref, parseBool, type WarningSink } from './reader.js';
import type { XmlElement } from '@tandem/xml';

const SCEP_FIELDS = [
  'CADomain',
  'Name_CN',
  'Department_OU',
  'Company_O',
  'State_ST',
  'State_SP',
  'Country_C',
  'Email_EA',
  'Domain_DC',
  'SurName_SN',
  'GivenName_GN',
  'UnstructName_N',
  'Initials_I',
  'Qualifier_GEN',
  'Qualifier_DN',
  'City_L',
  'Title_T',
];
const STORES = ['All', 'Machine', 'User'] as const;

/** Reads a `CertificatePinList` element's `Pin` children. */
export function readPinList(el: XmlElement | undefined, sink: WarningSink): CertificatePin[] {
  if (!el) return [];
  const pins: CertificatePin[] = [];
  for (const pin of new Children(el, new Set(['Pin']), sink, new Set(['Pin'])).all('Pin')) {
    if (pin.text === '') {
      sink.add(pin, 'dropped-entry', 'empty <Pin> ignored');
      continue;
    }
    const p: CertificatePin = { value: pin.text, line: pin.line };
    const subject = pin.attributes.get('Subject')?.value;
    const issuer = pin.attributes.get('Issuer')?.value;
    if (subject !== undefined) p.subject = subject;
    if (issuer !== undefined) p.issuer = issuer;
    pins.push(p);
  }
  return pins;
}

/** Reads `CAURL` (text = URL; attributes PromptForChallengePW, Thumbprint). */
export function readCaUrl(
  el: XmlElement,
  sink: WarningSink,
): { url: string; promptForChallengePw: boolean; thumbprint?: string } {
  const out: { url: string; promptForChallengePw: boolean; thumbprint?: string } = {
    url: el.text,
    promptForChallengePw: false,
  };
  const prompt = el.attributes.get('PromptForChallengePW');
  if (prompt) {
    const v = parseBool(prompt.value.trim());
    if (v === undefined)
      sink.add(prompt, 'bad-boolean', `PromptForChallengePW="${prompt.value}" is not true/false; using false`);
    else out.promptForChallengePw = v;
  }
  const thumb = el.attributes.get('Thumbprint')?.value;
  if (thumb !== undefined) out.thumbprint = thumb;
  return out;
}

/** Reads a `CertificateEnrollment` element. */
export function readEnrollment(el: XmlElement, sink: WarningSink): CertificateEnrollment {
  const kids = new Children(
    el,
    new Set([
      'CertificateExpirationThreshold',
      'AutomaticSCEPHost',
      'CAURL',
      'CertificateImportStore',
      'CertificateImportStoreLinux',
      'CertificateSCEP',
    ]),
    sink,
  );
  const out: CertificateEnrollment = {
    certificateImportStore: enumPref(kids.one('CertificateImportStore'), STORES, 'All', sink).value,
    scepFields: Object.create(null) as Record<string, string | string[]>,
    displayGetCertButton: false,
  };
  const threshold = kids.one('CertificateExpirationThreshold');
  if (threshold) out.certificateExpirationThreshold = intPref(threshold, 0, 1_000_000, 0, sink).value;
  const host = kids.one('AutomaticSCEPHost');
  if (host) out.automaticScepHost = host.text;
  const ca = kids.one('CAURL');
  if (ca) out.caUrl = readCaUrl(ca, sink);
  const linux = kids.one('CertificateImportStoreLinux');
  if (linux) out.certificateImportStoreLinux = enumPref(linux, STORES, 'All', sink).value;
  const scep = kids.one('CertificateSCEP');
  if (scep) {
    const names = new Set([...SCEP_FIELDS, 'KeySize', 'DisplayGetCertButton', 'CertificateAccessControl']);
    const s = new Children(scep, names, sink, new Set(['Domain_DC']));
    for (const name of SCEP_FIELDS) {
      const all = s.all(name);
      if (all.length === 0) continue;
      out.scepFields[name] = name === 'Domain_DC' ? all.slice(0, 10).map((e) => e.text) : (all[0]?.text ?? '');
    }
    const keySize = s.one('KeySize');
    if (keySize) {
      const v = enumPref(keySize, ['1024', '2048', '4096'] as const, '2048', sink);
      if (v.source === 'file') out.keySize = Number(v.value) as 1024 | 2048 | 4096;
    }
    out.displayGetCertButton = boolValue(s.one('DisplayGetCertButton'), false, sink);
  }
  return out;
}
