/**
 * `ServerList/HostEntry` (docs/profile.md#server-list). Host names and addresses end up in URLs, logs and, for
 * Always-On, firewall rules, so values with whitespace, quotes or control characters are
 * refused per entry rather than passed on.
 */
import { readCaUrl, readPinList } from './enrollment.js';
import type { HostEntry } from './model.js';
import { boolValue, Children, clip, enumPref, type WarningSink } from './reader.js';
import type { XmlElement } from '@tandem/xml';

const HOST_ELEMENTS = new Set([
  'HostName',
  'HostAddress',
  'UserGroup',
  'BackupServerList',
  'LoadBalancingServerList',
  'AutomaticSCEPHost',
  'CAURL',
  'MobileHostEntryInfo',
  'PrimaryProtocol',
  'CertificatePinList',
]);
/** host[:port][/path] with no whitespace, quotes, angle brackets or backslashes. */
const ADDRESS = /^[^\s"'<>\\`]{1,253}$/;
const GROUP = /^[^\s"'<>\\`/?#]{1,128}$/;

function addressList(el: XmlElement | undefined, what: string, sink: WarningSink): string[] {
  if (!el) return [];
  const out: string[] = [];
  for (const h of new Children(el, new Set(['HostAddress']), sink, new Set(['HostAddress'])).all('HostAddress')) {
    if (h.text === '') continue;
    if (!ADDRESS.test(h.text))
      sink.add(h, 'bad-host', `${what} address "${clip(h.text)}" has characters not allowed in a host; ignored`);
    else out.push(h.text);
  }
  return out;
}

function readProtocol(el: XmlElement | undefined, entry: HostEntry, sink: WarningSink): void {
  if (!el) return;
  entry.primaryProtocol = enumPref(el, ['SSL', 'IPsec'] as const, 'SSL', sink).value;
  const sao = new Children(el, new Set(['StandardAuthenticationOnly']), sink).one('StandardAuthenticationOnly');
  if (!sao) return;
  const k = new Children(sao, new Set(['AuthMethodDuringIKENegotiation', 'IKEIdentity']), sink);
  const methods = ['EAP-AnyConnect', 'EAP-GTC', 'EAP-MD5', 'EAP-MSCHAPv2', 'IKE-RSA', 'IKE-ECDSA'] as const;
  const std: NonNullable<HostEntry['standardAuthenticationOnly']> = {
    enabled: boolValue(sao, false, sink),
    authMethodDuringIkeNegotiation: enumPref(k.one('AuthMethodDuringIKENegotiation'), methods, 'EAP-GTC', sink).value,
  };
  const ike = k.one('IKEIdentity')?.text;
  if (ike) std.ikeIdentity = ike;
  entry.standardAuthenticationOnly = std;
}

function readHostEntry(el: XmlElement, sink: WarningSink): HostEntry | null {
  const k = new Children(el, HOST_ELEMENTS, sink);
  let hostName = k.one('HostName')?.text ?? '';
  let hostAddress = k.one('HostAddress')?.text ?? '';
  if (hostName === '' && hostAddress === '') {
    sink.add(el, 'dropped-host', 'HostEntry without HostName and HostAddress dropped');
    return null;
  }
  if (hostAddress === '') hostAddress = hostName;
  if (hostName === '') {
    sink.add(
      el,
      'missing-host-name',
      `HostEntry without HostName; using the address "${clip(hostAddress)}" as its name`,
    );
    hostName = hostAddress;
  }
  if (!ADDRESS.test(hostAddress)) {
    sink.add(
      k.one('HostAddress') ?? el,
      'dropped-host',
      `HostEntry "${clip(hostName)}" dropped: address "${clip(hostAddress)}" has characters not allowed in a host`,
    );
    return null;
  }
  const entry: HostEntry = {
    hostName,
    hostAddress,
    url: `https://${hostAddress}`,
    backupServers: addressList(k.one('BackupServerList'), 'backup server', sink),
    loadBalancingServers: addressList(k.one('LoadBalancingServerList'), 'load-balancing server', sink),
    primaryProtocol: 'SSL',
    pins: readPinList(k.one('CertificatePinList'), sink),
    line: el.line,
  };
  const group = k.one('UserGroup');
  if (group && group.text !== '') {
    if (GROUP.test(group.text)) {
      entry.userGroup = group.text;
      entry.url = `https://${hostAddress}/${group.text}`;
    } else {
      sink.add(
        group,
        'bad-value',
        `UserGroup "${clip(group.text)}" has characters not allowed in a group alias; ignored`,
      );
    }
  }
  readProtocol(k.one('PrimaryProtocol'), entry, sink);
  const scep = k.one('AutomaticSCEPHost')?.text;
  if (scep) entry.automaticScepHost = scep;
  const ca = k.one('CAURL');
  if (ca && ca.text !== '') entry.caUrl = readCaUrl(ca, sink).url;
  return entry;
}

/**
 * Reads `ServerList`. Within one file a repeated host name keeps the first entry (the same
 * rule mergeProfiles applies across files).
 */
export function readServerList(el: XmlElement | undefined, sink: WarningSink): HostEntry[] {
  if (!el) return [];
  const out: HostEntry[] = [];
  const seen = new Map<string, HostEntry>();
  for (const h of new Children(el, new Set(['HostEntry']), sink, new Set(['HostEntry'])).all('HostEntry')) {
    const entry = readHostEntry(h, sink);
    if (!entry) continue;
    const key = entry.hostName.toLowerCase();
    const first = seen.get(key);
    if (first) {
      sink.add(
        h,
        'duplicate-host',
        `duplicate host "${clip(entry.hostName)}" discarded (first defined at line ${first.line})`,
      );
      continue;
    }
    seen.set(key, entry);
    out.push(entry);
  }
  return out;
}
