/**
 * `ClientInitialization` with every default applied (docs/profile.md#reading-rules). The element names the
 * schema knows are listed in {@link CLIENT_INIT_ELEMENTS}; local-policy elements that real
 * profiles carry here (ocserv's sample) are reported as non-schema, and StrictCertificateTrust
 * is still read because an administrator who wrote it clearly wanted strict trust.
 * UserControllable defaults: the schema gives `true` for AutomaticCertSelection,
 * ClearSmartcardPin and UseStartBeforeLogon; where it gives none we use `false` (locked), the
 * conservative choice.
 */
import { readCertificateMatch } from './certificate-match.js';
import { readEnrollment, readPinList } from './enrollment.js';
import type { ClientInitialization } from './model.js';
import { boolPref, Children, clip, enumPref, intPref, WarningSink } from './reader.js';
import { defaultVpnPolicy, readVpnPolicy } from './vpn-policy.js';
import type { XmlElement } from '@tandem/xml';

/** Element names recognised directly under ClientInitialization. */
export const CLIENT_INIT_ELEMENTS: ReadonlySet<string> = new Set([
  'CertificateStore',
  'CertificateStoreMac',
  'CertificateStoreLinux',
  'CertificateStoreOverride',
  'AutomaticCertSelection',
  'CertificateMatch',
  'ClearSmartcardPin',
  'ShowPreConnectMessage',
  'CertificatePinning',
  'AutoReconnect',
  'SuspendOnConnectedStandby',
  'AuthenticationTimeout',
  'ProxySettings',
  'AllowLocalProxyConnections',
  'IPProtocolSupport',
  'AutoConnectOnStart',
  'MinimizeOnConnect',
  'LocalLanAccess',
  'DisableCaptivePortalDetection',
  'CaptivePortalRemediationBrowserFailover',
  'AllowManualHostInput',
  'ServiceDisable',
  'EnableAutomaticServerSelection',
  'BackupServerList',
  'UseStartBeforeLogon',
  'WindowsLogonEnforcement',
  'LinuxLogonEnforcement',
  'WindowsVPNEstablishment',
  'LinuxVPNEstablishment',
  'RetainVpnOnLogoff',
  'EnableScripting',
  'PPPExclusion',
  'AutoUpdate',
  'RSASecurIDIntegration',
  'SafeWordSofTokenIntegration',
  'AllowIPsecOverSSL',
  'AutomaticVPNPolicy',
  'CertificateEnrollment',
  'MobilePolicy',
  'DeviceLockRequired',
]);

const LOCAL_POLICY_HERE = 'it belongs to AnyConnectLocalPolicy.xml';
const NON_SCHEMA: ReadonlyMap<string, string> = new Map([
  ['StrictCertificateTrust', `${LOCAL_POLICY_HERE}; read anyway (true makes server-certificate trust strict)`],
  ['RestrictPreferenceCaching', `${LOCAL_POLICY_HERE}; ignored`],
  ['RestrictTunnelProtocols', `${LOCAL_POLICY_HERE}; ignored`],
  ['BypassDownloader', `${LOCAL_POLICY_HERE}; ignored`],
  ['RestrictWebLaunch', `${LOCAL_POLICY_HERE}; ignored`],
  ['FipsMode', `${LOCAL_POLICY_HERE}; ignored`],
  ['EnableCRLCheck', `${LOCAL_POLICY_HERE}; ignored`],
]);

const STORES = ['All', 'Machine', 'User'] as const;
const LOGON = ['SingleLogon', 'SingleLocalLogon', 'SingleLogonNoRemote'] as const;
const ESTABLISH = ['LocalUsersOnly', 'AllowRemoteUsers'] as const;

function readIpProtocols(el: XmlElement | undefined, sink: WarningSink): ClientInitialization['ipProtocolSupport'] {
  const def: Array<'IPv4' | 'IPv6'> = ['IPv4', 'IPv6'];
  if (!el) return { value: def, source: 'default' };
  const parts = el.text.split(',').map((p) => p.trim().toLowerCase());
  const mapped = parts.map((p) => (p === 'ipv4' ? 'IPv4' : p === 'ipv6' ? 'IPv6' : null));
  if (mapped.length === 0 || mapped.length > 2 || mapped.includes(null) || mapped[0] === mapped[1]) {
    sink.add(
      el,
      'bad-value',
      `IPProtocolSupport "${clip(el.text)}" is not IPv4, IPv6, IPv4,IPv6 or IPv6,IPv4; using IPv4,IPv6`,
    );
    return { value: def, source: 'default' };
  }
  return { value: mapped as Array<'IPv4' | 'IPv6'>, source: 'file' };
}

/**
 * Reads ClientInitialization; with `el` undefined returns the built-in defaults (used for a
 * profile without the element and for hosts that belong to no profile).
 */
export function readClientInitialization(el: XmlElement | undefined, sink: WarningSink): ClientInitialization {
  const empty: XmlElement = {
    name: 'ClientInitialization',
    local: 'ClientInitialization',
    namespace: null,
    attributes: new Map(),
    children: [],
    text: '',
    line: 0,
    column: 0,
  };
  const k = new Children(el ?? empty, CLIENT_INIT_ELEMENTS, sink, new Set(), NON_SCHEMA);
  const sub = (parent: XmlElement | undefined, names: string[]): Children =>
    new Children(parent ?? empty, new Set(names), sink);

  const autoReconnect = k.one('AutoReconnect');
  const proxy = k.one('ProxySettings');
  const serverSel = k.one('EnableAutomaticServerSelection');
  const retain = k.one('RetainVpnOnLogoff');
  const scripting = k.one('EnableScripting');
  const ppp = k.one('PPPExclusion');
  const pinning = k.one('CertificatePinning');
  const arK = sub(autoReconnect, ['AutoReconnectBehavior']);
  const proxyK = sub(proxy, ['PublicProxyServerAddress']);
  const selK = sub(serverSel, ['AutoServerSelectionImprovement', 'AutoServerSelectionSuspendTime']);
  const retainK = sub(retain, ['UserEnforcement']);
  const scriptK = sub(scripting, ['TerminateScriptOnNextEvent', 'EnablePostSBLOnConnectScript']);
  const pppK = sub(ppp, ['PPPExclusionServerIP']);
  const pinK = sub(pinning, ['CertificatePinList']);
  const backup = k.one('BackupServerList');
  const match = k.one('CertificateMatch');
  const enroll = k.one('CertificateEnrollment');
  const strict = k.one('StrictCertificateTrust');
  const policy = k.one('AutomaticVPNPolicy');
  const pinningPref = boolPref(pinning, false, sink);

  const ci: ClientInitialization = {
    certificateStore: enumPref(k.one('CertificateStore'), STORES, 'All', sink),
    certificateStoreMac: enumPref(k.one('CertificateStoreMac'), ['All', 'System', 'Login'] as const, 'All', sink),
    certificateStoreLinux: enumPref(k.one('CertificateStoreLinux'), STORES, 'All', sink),
    certificateStoreOverride: boolPref(k.one('CertificateStoreOverride'), false, sink),
    automaticCertSelection: boolPref(k.one('AutomaticCertSelection'), true, sink, true),
    certificateMatch: match ? readCertificateMatch(match, sink) : null,
    clearSmartcardPin: boolPref(k.one('ClearSmartcardPin'), true, sink, true),
    showPreConnectMessage: boolPref(k.one('ShowPreConnectMessage'), false, sink),
    certificatePinning: {
      enabled: pinningPref.value,
      source: pinningPref.source,
      pins: readPinList(pinK.one('CertificatePinList'), sink),
    },
    strictCertificateTrust: strict ? boolPref(strict, false, sink) : null,
    autoReconnect: boolPref(autoReconnect, true, sink, false),
    autoReconnectBehavior: enumPref(
      arK.one('AutoReconnectBehavior'),
      ['DisconnectOnSuspend', 'ReconnectAfterResume'] as const,
      'DisconnectOnSuspend',
      sink,
      false,
    ),
    suspendOnConnectedStandby: boolPref(k.one('SuspendOnConnectedStandby'), false, sink),
    authenticationTimeout: intPref(k.one('AuthenticationTimeout'), 10, 120, 30, sink),
    proxySettings: enumPref(proxy, ['Native', 'IgnoreProxy', 'Override'] as const, 'Native', sink, false),
    allowLocalProxyConnections: boolPref(k.one('AllowLocalProxyConnections'), true, sink),
    ipProtocolSupport: readIpProtocols(k.one('IPProtocolSupport'), sink),
    autoConnectOnStart: boolPref(k.one('AutoConnectOnStart'), false, sink, false),
    minimizeOnConnect: boolPref(k.one('MinimizeOnConnect'), true, sink, false),
    localLanAccess: boolPref(k.one('LocalLanAccess'), false, sink, false),
    disableCaptivePortalDetection: boolPref(k.one('DisableCaptivePortalDetection'), false, sink, false),
    captivePortalRemediationBrowserFailover: boolPref(k.one('CaptivePortalRemediationBrowserFailover'), false, sink),
    allowManualHostInput: boolPref(k.one('AllowManualHostInput'), true, sink),
    serviceDisable: boolPref(k.one('ServiceDisable'), false, sink),
    enableAutomaticServerSelection: boolPref(serverSel, false, sink, false),
    autoServerSelectionImprovement: intPref(selK.one('AutoServerSelectionImprovement'), 10, 100, 20, sink),
    autoServerSelectionSuspendTime: intPref(selK.one('AutoServerSelectionSuspendTime'), 1, 100, 4, sink),
    backupServerList: backup
      ? new Children(backup, new Set(['HostAddress']), sink, new Set(['HostAddress']))
          .all('HostAddress')
          .map((h) => h.text)
          .filter((h) => h !== '')
      : [],
    useStartBeforeLogon: boolPref(k.one('UseStartBeforeLogon'), false, sink, true),
    windowsLogonEnforcement: enumPref(k.one('WindowsLogonEnforcement'), LOGON, 'SingleLocalLogon', sink),
    linuxLogonEnforcement: enumPref(k.one('LinuxLogonEnforcement'), LOGON, 'SingleLocalLogon', sink),
    windowsVpnEstablishment: enumPref(k.one('WindowsVPNEstablishment'), ESTABLISH, 'AllowRemoteUsers', sink),
    linuxVpnEstablishment: enumPref(k.one('LinuxVPNEstablishment'), ESTABLISH, 'AllowRemoteUsers', sink),
    retainVpnOnLogoff: boolPref(retain, false, sink),
    retainVpnOnLogoffUserEnforcement: enumPref(
      retainK.one('UserEnforcement'),
      ['SameUserOnly', 'AnyUser'] as const,
      'SameUserOnly',
      sink,
    ),
    enableScripting: boolPref(scripting, false, sink, false),
    terminateScriptOnNextEvent: boolPref(scriptK.one('TerminateScriptOnNextEvent'), false, sink),
    enablePostSblOnConnectScript: boolPref(scriptK.one('EnablePostSBLOnConnectScript'), true, sink),
    pppExclusion: enumPref(ppp, ['Automatic', 'Disable', 'Override'] as const, 'Automatic', sink, false),
    autoUpdate: boolPref(k.one('AutoUpdate'), true, sink, false),
    rsaSecurIdIntegration: enumPref(
      k.one('RSASecurIDIntegration'),
      ['Automatic', 'SoftwareToken', 'HardwareToken'] as const,
      'Automatic',
      sink,
      false,
    ),
    safeWordSofTokenIntegration: boolPref(k.one('SafeWordSofTokenIntegration'), false, sink),
    allowIpsecOverSsl: boolPref(k.one('AllowIPsecOverSSL'), false, sink),
    automaticVpnPolicy: policy ? readVpnPolicy(policy, sink) : defaultVpnPolicy(),
    certificateEnrollment: enroll ? readEnrollment(enroll, sink) : null,
  };
  const proxyAddr = proxyK.one('PublicProxyServerAddress')?.text;
  if (proxyAddr) ci.publicProxyServerAddress = proxyAddr;
  const pppIp = pppK.one('PPPExclusionServerIP')?.text;
  if (pppIp) ci.pppExclusionServerIp = pppIp;
  return ci;
}

/** The built-in defaults (a host in no profile uses these: docs/profile.md#several-profiles). */
export function defaultClientInitialization(): ClientInitialization {
  return readClientInitialization(undefined, new WarningSink());
}
