/**
 * Aggregate-auth XML (`<config-auth>`): parsing what a gateway sends and building what the
 * client sends (docs/protocol.md#aggregate-auth, #mca).
 *
 * Gateway XML is hostile input. It goes through the same guarded reader as profiles
 * (@tandem/xml: strict UTF-8, DOCTYPE/ENTITY refused, bounded size, depth, element count and
 * text, Map-based so `__proto__` is just a name), whose refusals reach the caller as
 * E_XML_INVALID with a line and column. The `<opaque>` element is kept as the exact text the
 * gateway sent, because ASA finds its pending exchange by it.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { readXml, type XmlElement } from '@tandem/xml';

/** Gateway documents are small; the HTTP layer caps bodies at 256 KiB too. */
const LIMITS = { maxBytes: 256 * 1024, maxDepth: 32 };

/** A form input of an `auth-request`. */
export interface FormInput {
  type: string;
  name: string;
  label: string;
  value: string;
}

/** A `<select>` (group list and friends). */
export interface FormSelect {
  name: string;
  label: string;
  options: Array<{ value: string; label: string; selected: boolean }>;
}

/** One profile advertised in a `vpn-profile-manifest`. */
export interface ManifestEntry {
  uri: string;
  sha1: string;
  serviceType: string;
}

/** What the client needs from a gateway `config-auth` document. */
export interface GatewayDocument {
  /** `auth-request`, `complete`, … */
  type: string;
  authId: string | null;
  title: string;
  message: string;
  banner: string;
  errors: string[];
  /** The exact `<opaque …>…</opaque>` text, echoed verbatim in the reply. */
  opaqueXml: string | null;
  form: { action: string; method: string; inputs: FormInput[]; selects: FormSelect[] } | null;
  clientCertRequest: boolean;
  certAuthenticated: boolean;
  /** Hash algorithms offered by `<multiple-client-cert-request>`, or null when no MCA step. */
  mcaHashes: string[] | null;
  sessionToken: string | null;
  sessionId: string | null;
  serverCertHash: string | null;
  manifest: ManifestEntry[];
  hostScan: boolean;
}

function invalid(message: string): TandemError {
  return new TandemError(ErrorCodes.PROTOCOL, `gateway XML: ${message}`);
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === name);
}

function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.local === name) : [];
}

function attr(el: XmlElement | undefined, name: string): string {
  return el?.attributes.get(name)?.value ?? '';
}

function text(el: XmlElement | undefined): string {
  return el?.text ?? '';
}

function parseForm(auth: XmlElement | undefined): GatewayDocument['form'] {
  const form = child(auth, 'form');
  if (!form) return null;
  const inputs = children(form, 'input').map((i) => ({
    type: attr(i, 'type') || 'text',
    name: attr(i, 'name'),
    label: attr(i, 'label'),
    value: attr(i, 'value'),
  }));
  const selects = children(form, 'select').map((s) => ({
    name: attr(s, 'name'),
    label: attr(s, 'label'),
    options: children(s, 'option').map((o) => ({
      value: attr(o, 'value') || text(o),
      label: text(o),
      selected: attr(o, 'selected') === 'true',
    })),
  }));
  return {
    action: attr(form, 'action') || '/',
    method: (attr(form, 'method') || 'post').toLowerCase(),
    inputs,
    selects,
  };
}

function parseManifest(root: XmlElement): ManifestEntry[] {
  const vpn = child(child(child(root, 'config'), 'vpn-profile-manifest'), 'vpn');
  return children(vpn, 'file').flatMap((f) => {
    const hash = child(f, 'hash');
    const uri = text(child(f, 'uri'));
    if (attr(f, 'type') !== 'profile' || !uri) return [];
    return [
      {
        uri,
        sha1: attr(hash, 'type') === 'sha1' ? text(hash).toUpperCase() : '',
        serviceType: attr(f, 'service-type'),
      },
    ];
  });
}

/** Extracts the exact `<opaque …>…</opaque>` text (or null). */
export function extractOpaque(xml: string): string | null {
  const start = xml.search(/<opaque[\s>]/);
  if (start < 0) return null;
  const end = xml.indexOf('</opaque>', start);
  if (end < 0) throw invalid('unterminated <opaque>');
  return xml.slice(start, end + '</opaque>'.length);
}

/**
 * Parses a gateway `config-auth` document (the exact bytes of a response body). Throws
 * E_XML_INVALID for a document the guarded reader refuses, E_PROTOCOL for well-formed XML that
 * is not a usable `config-auth`.
 */
export function parseGatewayDocument(body: Buffer): GatewayDocument {
  const { root, text: xml } = readXml(body, { source: 'gateway response', limits: LIMITS });
  if (root.local !== 'config-auth') throw invalid('not a <config-auth> document');
  const auth = child(root, 'auth');
  const errors = [...children(auth, 'error'), ...children(root, 'error')]
    .map((e) => {
      let t = text(e);
      for (const p of ['param1', 'param2']) t = t.replace('%s', attr(e, p));
      return t.trim();
    })
    .filter(Boolean);
  const mca = child(root, 'multiple-client-cert-request');
  return {
    type: attr(root, 'type'),
    authId: attr(auth, 'id') || null,
    title: text(child(auth, 'title')),
    message: children(auth, 'message').map(text).filter(Boolean).join('\n'),
    banner: text(child(auth, 'banner')),
    errors,
    opaqueXml: extractOpaque(xml),
    form: parseForm(auth),
    clientCertRequest: !!child(root, 'client-cert-request'),
    certAuthenticated: !!child(root, 'cert-authenticated'),
    mcaHashes: mca ? children(mca, 'hash-algorithm').map((h) => text(h).trim().toLowerCase()) : null,
    sessionToken: text(child(root, 'session-token')) || null,
    sessionId: text(child(root, 'session-id')) || null,
    serverCertHash: text(child(child(child(root, 'config'), 'vpn-base-config'), 'server-cert-hash')) || null,
    manifest: parseManifest(root),
    hostScan: !!child(root, 'host-scan') || !!child(root, 'csd'),
  };
}

/** Escapes text for an XML element or attribute. */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Client identity sent in every document. */
export interface ClientIdentity {
  version: string;
  deviceId: string;
  /** Advertise `multiple-cert` (only when a user certificate is available). */
  mca: boolean;
}

function preamble(type: 'init' | 'auth-reply', id: ClientIdentity): string {
  const caps = id.mca ? '<capabilities><auth-method>multiple-cert</auth-method></capabilities>' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="${type}" aggregate-auth-version="2"><version who="vpn">${xmlEscape(id.version)}</version><device-id>${xmlEscape(id.deviceId)}</device-id>${caps}`;
}

/** Builds `config-auth type="init"`. */
export function buildInit(
  id: ClientIdentity,
  groupAccess: string,
  opts: { groupSelect?: string; clientCertFail?: boolean } = {},
): Buffer {
  let x = preamble('init', id);
  x += `<group-access>${xmlEscape(groupAccess)}</group-access>`;
  if (opts.groupSelect) x += `<group-select>${xmlEscape(opts.groupSelect)}</group-select>`;
  if (opts.clientCertFail) x += '<client-cert-fail/>';
  return Buffer.from(`${x}</config-auth>`, 'utf8');
}

/** The MCA part of an auth-reply (docs/protocol.md#mca-reply). */
export interface McaReply {
  pkcs7Base64: string;
  signatureBase64: string;
  hash: string;
}

/** Builds `config-auth type="auth-reply"` with form answers and/or the MCA certificate chains. */
export function buildAuthReply(
  id: ClientIdentity,
  opaqueXml: string | null,
  opts: { answers?: Array<[string, string]>; groupSelect?: string; mca?: McaReply },
): Buffer {
  let x = `${preamble('auth-reply', id)}<session-token/><session-id/>`;
  if (opaqueXml) x += opaqueXml;
  if (opts.groupSelect) x += `<group-select>${xmlEscape(opts.groupSelect)}</group-select>`;
  x += '<auth>';
  for (const [name, value] of opts.answers ?? []) {
    if (!/^[A-Za-z_][\w.-]{0,63}$/.test(name)) throw invalid(`refusing a form field name "${name.slice(0, 40)}"`);
    x += `<${name}>${xmlEscape(value)}</${name}>`;
  }
  if (opts.mca) {
    x += '<client-cert-chain cert-store="1M"><client-cert-sent-via-protocol/></client-cert-chain>';
    x += `<client-cert-chain cert-store="1U"><client-cert cert-format="pkcs7">${opts.mca.pkcs7Base64}</client-cert>`;
    x += `<client-cert-auth-signature hash-algorithm-chosen="${xmlEscape(opts.mca.hash)}">${opts.mca.signatureBase64}</client-cert-auth-signature></client-cert-chain>`;
  }
  return Buffer.from(`${x}</auth></config-auth>`, 'utf8');
}
