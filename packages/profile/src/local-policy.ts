/**
 * `AnyConnectLocalPolicy` (docs/profile.md#local-policy): the machine-wide, admin-owned policy file. Every field
 * has a default so a partial file is fine; unknown elements are warned about like in profiles.
 */
import type { LocalPolicy } from './model.js';
import { boolValue, Children, clip, enumPref, type WarningSink } from './reader.js';
import type { XmlElement } from '@tandem/xml';

const ELEMENTS = new Set([
  'FipsMode',
  'BypassDownloader',
  'RestrictWebLaunch',
  'StrictCertificateTrust',
  'EnableCRLCheck',
  'RestrictTunnelProtocols',
  'RestrictPreferenceCaching',
  'ExcludePemFileCertStore',
  'ExcludeWinNativeCertStore',
  'ExcludeMacNativeCertStore',
  'ExcludeFirefoxNSSCertStore',
  'UpdatePolicy',
]);
const UPDATE_ELEMENTS = new Set([
  'AllowSoftwareUpdatesFromAnyServer',
  'AllowComplianceModuleUpdatesFromAnyServer',
  'AllowVPNProfileUpdatesFromAnyServer',
  'AllowManagementVPNProfileUpdatesFromAnyServer',
  'AllowISEProfileUpdatesFromAnyServer',
  'AllowServiceProfileUpdatesFromAnyServer',
  'AuthorizedServerList',
]);

/** Reads the root `AnyConnectLocalPolicy` element. */
export function readLocalPolicy(root: XmlElement, sink: WarningSink): LocalPolicy {
  const k = new Children(root, ELEMENTS, sink);
  const up = k.one('UpdatePolicy');
  const u = up ? new Children(up, UPDATE_ELEMENTS, sink) : undefined;
  const list = u?.one('AuthorizedServerList');
  const servers = list
    ? new Children(list, new Set(['ServerName']), sink, new Set(['ServerName']))
        .all('ServerName')
        .map((s) => s.text)
        .filter((s) => s !== '')
    : [];
  const policy: LocalPolicy = {
    kind: 'local-policy',
    namespace: root.namespace,
    fipsMode: boolValue(k.one('FipsMode'), false, sink),
    bypassDownloader: boolValue(k.one('BypassDownloader'), false, sink),
    restrictWebLaunch: boolValue(k.one('RestrictWebLaunch'), false, sink),
    strictCertificateTrust: boolValue(k.one('StrictCertificateTrust'), false, sink),
    enableCrlCheck: boolValue(k.one('EnableCRLCheck'), false, sink),
    restrictTunnelProtocols: enumPref(
      k.one('RestrictTunnelProtocols'),
      ['false', 'IPSec', 'TLS'] as const,
      'false',
      sink,
    ).value,
    restrictPreferenceCaching: enumPref(
      k.one('RestrictPreferenceCaching'),
      ['false', 'Credentials', 'Thumbprints', 'CredentialsAndThumbprints', 'All'] as const,
      'false',
      sink,
    ).value,
    excludePemFileCertStore: boolValue(k.one('ExcludePemFileCertStore'), false, sink),
    excludeWinNativeCertStore: boolValue(k.one('ExcludeWinNativeCertStore'), false, sink),
    excludeMacNativeCertStore: boolValue(k.one('ExcludeMacNativeCertStore'), false, sink),
    excludeFirefoxNssCertStore: boolValue(k.one('ExcludeFirefoxNSSCertStore'), false, sink),
    updatePolicy: {
      allowSoftwareUpdatesFromAnyServer: boolValue(u?.one('AllowSoftwareUpdatesFromAnyServer'), true, sink),
      allowComplianceModuleUpdatesFromAnyServer: boolValue(
        u?.one('AllowComplianceModuleUpdatesFromAnyServer'),
        true,
        sink,
      ),
      allowVpnProfileUpdatesFromAnyServer: boolValue(u?.one('AllowVPNProfileUpdatesFromAnyServer'), true, sink),
      allowManagementVpnProfileUpdatesFromAnyServer: boolValue(
        u?.one('AllowManagementVPNProfileUpdatesFromAnyServer'),
        true,
        sink,
      ),
      allowIseProfileUpdatesFromAnyServer: boolValue(u?.one('AllowISEProfileUpdatesFromAnyServer'), true, sink),
      allowServiceProfileUpdatesFromAnyServer: boolValue(u?.one('AllowServiceProfileUpdatesFromAnyServer'), true, sink),
      authorizedServerList: servers,
    },
  };
  const version = root.attributes.get('acversion');
  if (version) {
    if (/^[0-9]+(\.[0-9]+){0,3}$/.test(version.value.trim())) policy.acversion = version.value.trim();
    else sink.add(version, 'bad-value', `acversion="${clip(version.value)}" is not a dotted version; ignored`);
  }
  return policy;
}
