/**
 * Entry points from bytes to typed documents: the guarded reader of @tandem/xml (size cap,
 * strict decoding, no DTD, bounded tokenizer) builds the element tree, then the typed readers
 * turn it into a profile or local policy. XML-level refusals stay E_XML_INVALID; what is wrong
 * with a well-formed document as a profile is E_PROFILE_INVALID.
 */
import { readXml, type XmlElement, type XmlLimits } from '@tandem/xml';
import { invalidProfile } from './invalid.js';
import { readClientInitialization } from './client-init.js';
import { readLocalPolicy } from './local-policy.js';
import { isManagementTunnelPath, machineTunnelSettings } from './mgmt-tunnel.js';
import type { ClientProfile, LocalPolicy, ParsedDocument, ProfileWarning } from './model.js';
import { Children, WarningSink } from './reader.js';
import { readServerList } from './server-list.js';

/** The namespace Cisco uses for both profiles and local policies. */
export const PROFILE_NAMESPACE = 'http://schemas.xmlsoap.org/encoding/';

/** Options shared by the parse functions. */
export interface ParseOptions {
  /** Name used in messages and error details (default `profile.xml`). */
  file?: string;
  /** Treat as a management tunnel profile; default: detected from `file` (docs/profile.md#where-profiles-live). */
  managementTunnel?: boolean;
  /** Override resource caps (tests, tools); defaults are @tandem/xml's DEFAULT_XML_LIMITS. */
  limits?: Partial<XmlLimits>;
}

/** Either kind of parsed document. */
export type AnyParsedDocument = ParsedDocument<ClientProfile> | ParsedDocument<LocalPolicy>;

function fileName(opts: ParseOptions): string {
  return opts.file ?? 'profile.xml';
}

/** Runs the guarded reader up to the element tree. */
function toTree(bytes: Buffer, opts: ParseOptions): XmlElement {
  return readXml(bytes, { source: fileName(opts), ...(opts.limits ? { limits: opts.limits } : {}) }).root;
}

function checkNamespace(root: XmlElement, sink: WarningSink): void {
  if (root.namespace === null) {
    sink.add(
      root,
      'namespace',
      `<${root.local}> has no namespace (expected ${PROFILE_NAMESPACE}); elements are matched by local name`,
    );
  } else if (root.namespace !== PROFILE_NAMESPACE) {
    sink.add(
      root,
      'namespace',
      `<${root.local}> namespace "${root.namespace}" is not ${PROFILE_NAMESPACE}; elements are matched by local name`,
    );
  }
}

/** Readers visit elements in schema order; reports read better in file order. */
function sorted(sink: WarningSink): ProfileWarning[] {
  return [...sink.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
}

function profileFromTree(root: XmlElement, opts: ParseOptions): ParsedDocument<ClientProfile> {
  const sink = new WarningSink();
  checkNamespace(root, sink);
  const k = new Children(root, new Set(['ClientInitialization', 'ServerList']), sink);
  const profile: ClientProfile = {
    kind: 'vpn',
    managementTunnel: opts.managementTunnel ?? (opts.file !== undefined && isManagementTunnelPath(opts.file)),
    namespace: root.namespace,
    clientInitialization: readClientInitialization(k.one('ClientInitialization'), sink),
    serverList: readServerList(k.one('ServerList'), sink),
  };
  if (profile.managementTunnel) profile.machineTunnel = machineTunnelSettings(profile, sink, root);
  return { document: profile, warnings: sorted(sink) };
}

function localPolicyFromTree(root: XmlElement): ParsedDocument<LocalPolicy> {
  const sink = new WarningSink();
  checkNamespace(root, sink);
  const document = readLocalPolicy(root, sink);
  return { document, warnings: sorted(sink) };
}

function wrongRoot(root: XmlElement, file: string, expected: string): never {
  throw invalidProfile(file, root.line, root.column, `root element is <${root.name}>, expected <${expected}>`);
}

/**
 * Parses an `AnyConnectProfile` document. Throws TandemError E_XML_INVALID for anything that
 * is not well-formed, DTD-free XML within the caps, and E_PROFILE_INVALID for another root
 * element (both with message "file:line:column: reason" and the position in details); returns
 * the typed profile and its warnings.
 */
export function parseProfile(bytes: Buffer, opts: ParseOptions = {}): ParsedDocument<ClientProfile> {
  const root = toTree(bytes, opts);
  if (root.local !== 'AnyConnectProfile') wrongRoot(root, fileName(opts), 'AnyConnectProfile');
  return profileFromTree(root, opts);
}

/** Parses an `AnyConnectLocalPolicy` document; errors as {@link parseProfile}. */
export function parseLocalPolicy(bytes: Buffer, opts: ParseOptions = {}): ParsedDocument<LocalPolicy> {
  const root = toTree(bytes, opts);
  if (root.local !== 'AnyConnectLocalPolicy') wrongRoot(root, fileName(opts), 'AnyConnectLocalPolicy');
  return localPolicyFromTree(root);
}

/** Parses either document kind, chosen by the root element's local name. */
export function parseAnyDocument(bytes: Buffer, opts: ParseOptions = {}): AnyParsedDocument {
  const root = toTree(bytes, opts);
  if (root.local === 'AnyConnectProfile') return profileFromTree(root, opts);
  if (root.local === 'AnyConnectLocalPolicy') return localPolicyFromTree(root);
  return wrongRoot(root, fileName(opts), 'AnyConnectProfile> or <AnyConnectLocalPolicy');
}
