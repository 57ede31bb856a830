/**
 * The aggregate-auth XML documents (docs/protocol.md#aggregate-auth, #mca): reading what a client posts and
 * writing what a Cisco-style gateway answers. Client XML is untrusted: DOCTYPE/ENTITY
 * declarations are refused before any parser sees them, the document must be well-formed,
 * and only the few fields the gateway acts on are extracted.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** One `<client-cert-chain>` of an MCA auth-reply. */
export interface CertChainElement {
  store: string;
  sentViaProtocol: boolean;
  certFormat: string | null;
  cert: string | null;
  hashChosen: string | null;
  signature: string | null;
}

/** The fields of a client `config-auth` document the gateway uses. */
export interface ClientAuthDoc {
  type: string;
  authMethods: string[];
  groupSelect: string | null;
  groupAccess: string | null;
  clientCertFail: boolean;
  aggauthHandle: string | null;
  chains: CertChainElement[];
}

/** Raised for client XML we refuse to process. */
export class XmlRejected extends Error {
  override readonly name = 'XmlRejected';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  isArray: (name) => name === 'auth-method' || name === 'client-cert-chain',
});

type Node = Record<string, unknown>;

function obj(v: unknown): Node | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : null;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  const o = obj(v);
  if (o && typeof o['#text'] === 'string') return o['#text'];
  if (o) return '';
  return null;
}

function attr(v: unknown, name: string): string | null {
  const o = obj(v);
  const a = o?.[`@_${name}`];
  return typeof a === 'string' ? a : null;
}

/** Parses a client document; throws {@link XmlRejected} with the reason. */
export function parseClientDoc(body: Buffer): ClientAuthDoc {
  const xml = body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new XmlRejected('DOCTYPE/ENTITY declarations are not allowed');
  if (xml.includes('\0')) throw new XmlRejected('NUL byte in XML');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new XmlRejected(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const root = obj(obj(parser.parse(xml))?.['config-auth']);
  if (!root) throw new XmlRejected('root element is not config-auth');
  if (attr(root, 'client') !== 'vpn') throw new XmlRejected('config-auth client is not "vpn"');
  const type = attr(root, 'type');
  if (!type) throw new XmlRejected('config-auth has no type');
  const caps = obj(root['capabilities']);
  const methods = Array.isArray(caps?.['auth-method'])
    ? (caps['auth-method'] as unknown[]).map(text).filter((m): m is string => m !== null)
    : [];
  const opaque = obj(root['opaque']);
  const auth = obj(root['auth']);
  const chains = Array.isArray(auth?.['client-cert-chain']) ? (auth['client-cert-chain'] as unknown[]) : [];
  return {
    type,
    authMethods: methods,
    groupSelect: text(root['group-select']) || null,
    groupAccess: text(root['group-access']) || null,
    clientCertFail: 'client-cert-fail' in root,
    aggauthHandle: opaque ? text(opaque['aggauth-handle']) || null : null,
    chains: chains.map((c) => {
      const node = obj(c) ?? {};
      return {
        store: attr(node, 'cert-store') ?? '',
        sentViaProtocol: 'client-cert-sent-via-protocol' in node,
        certFormat: attr(node['client-cert'], 'cert-format'),
        cert: text(node['client-cert']),
        hashChosen: attr(node['client-cert-auth-signature'], 'hash-algorithm-chosen'),
        signature: text(node['client-cert-auth-signature']),
      };
    }),
  };
}

/** Escapes text for XML element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** What goes into the MCA challenge (docs/protocol.md#mca-challenge). */
export interface ChallengeFields {
  group: string;
  handle: string;
  configHash: string;
  hashes: readonly string[];
  /** 64 random bytes. */
  random: Buffer;
}

/** The MCA `auth-request`; its exact bytes are what the client signs. */
export function challengeDoc(f: ChallengeFields): Buffer {
  const hashes = f.hashes.map((h) => `<hash-algorithm>${xmlEscape(h)}</hash-algorithm>\n`).join('');
  return Buffer.from(
    `${XML_DECL}<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">\n` +
      `<opaque is-for="sg">\n<tunnel-group>${xmlEscape(f.group)}</tunnel-group>\n<aggauth-handle>${f.handle}</aggauth-handle>\n` +
      `<auth-method>multiple-cert</auth-method>\n<config-hash>${f.configHash}</config-hash>\n</opaque>\n` +
      `<multiple-client-cert-request>\n${hashes}</multiple-client-cert-request>\n` +
      `<random>${f.random.toString('hex').toUpperCase()}</random>\n<cert-authenticated></cert-authenticated>\n</config-auth>\n`,
    'utf8',
  );
}

/** `auth-request` with `<client-cert-request/>`: "present a TLS client certificate". */
export function clientCertRequestDoc(group: string): Buffer {
  return Buffer.from(
    `${XML_DECL}<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">\n` +
      `<opaque is-for="sg">\n<tunnel-group>${xmlEscape(group)}</tunnel-group>\n</opaque>\n<client-cert-request></client-cert-request>\n</config-auth>\n`,
    'utf8',
  );
}

/**
 * A refusal as an ASA words it: an `auth-request` whose `auth` carries `<error>` and no form.
 * Cisco uses the deliberately vague "Certificate Validation Failure" for every certificate
 * problem; the precise reason only goes to the gateway's event log.
 */
export function errorDoc(message = 'Certificate Validation Failure'): Buffer {
  return Buffer.from(
    `${XML_DECL}<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">\n` +
      `<auth id="main">\n<title>Login</title>\n<error id="13" param1="" param2="">${xmlEscape(message)}</error>\n</auth>\n</config-auth>\n`,
    'utf8',
  );
}

/** Fields of the success document. */
export interface CompleteFields {
  sessionId: string;
  token: string;
  banner: string | null;
  /** SHA-1 of the gateway certificate, uppercase hex. */
  serverCertHash: string;
  /** The `<vpn-profile-manifest>` element (profiles.ts), or '' for none. */
  manifest?: string;
}

/** The `type="complete"` document, in the Cisco shape (docs/protocol.md#success-and-the-cookie). */
export function completeDoc(f: CompleteFields): Buffer {
  const banner = f.banner ? `<banner>${xmlEscape(f.banner)}</banner>\n` : '';
  return Buffer.from(
    `${XML_DECL}<config-auth client="vpn" type="complete" aggregate-auth-version="2">\n` +
      `<session-id>${f.sessionId}</session-id>\n<session-token>${xmlEscape(f.token)}</session-token>\n` +
      `<auth id="success">\n<message id="0" param1="" param2=""></message>\n${banner}</auth>\n` +
      `<config client="vpn" type="private">\n<vpn-base-config><server-cert-hash>${f.serverCertHash}</server-cert-hash></vpn-base-config>\n` +
      `<opaque is-for="vpn-client"></opaque>\n${f.manifest ?? ''}</config>\n</config-auth>\n`,
    'utf8',
  );
}
