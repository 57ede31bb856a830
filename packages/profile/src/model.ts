/**
 * The typed model of an AnyConnect / Secure Client XML profile (docs/profile.md).
 *
 * Field names are stable camelCase and form the `profile` object of `tandem profile check --json`;
 * see packages/profile/README.md. Every preference carries its effective value with documented
 * defaults applied; `source` says whether the value came from the file or from the default, so
 * an administrator can see what Tandem understood.
 */

/** Where an effective value came from. */
export type ValueSource = 'file' | 'default';

/** A preference value with its provenance and the `UserControllable` flag when the schema has one. */
export interface Pref<T> {
  value: T;
  source: ValueSource;
  /** Present for elements that accept `UserControllable`; the default differs per element. */
  userControllable?: boolean;
}

/** A non-fatal finding, always with its position in the file. */
export interface ProfileWarning {
  line: number;
  column: number;
  message: string;
  /** Stable warning kind, e.g. `unknown-element`, `bad-boolean`, `out-of-range`. */
  kind: string;
}

/** Windows store selection (`CertificateStore`). */
export type CertificateStoreWin = 'All' | 'Machine' | 'User';
/** macOS store selection (`CertificateStoreMac`). */
export type CertificateStoreMac = 'All' | 'System' | 'Login';
/** Linux store selection (`CertificateStoreLinux`). */
export type CertificateStoreLinux = 'All' | 'Machine' | 'User';

/** Key usage names accepted by `KeyUsage/MatchKey`. */
export type KeyUsageName =
  | 'Decipher_Only'
  | 'Encipher_Only'
  | 'CRL_Sign'
  | 'Key_Cert_Sign'
  | 'Key_Agreement'
  | 'Data_Encipherment'
  | 'Key_Encipherment'
  | 'Non_Repudiation'
  | 'Digital_Signature';

/** Named EKUs accepted by `ExtendedKeyUsage/ExtendedMatchKey`. */
export type ExtendedKeyUsageName =
  | 'ServerAuth'
  | 'ClientAuth'
  | 'CodeSign'
  | 'EmailProtect'
  | 'IPSecEndSystem'
  | 'IPSecTunnel'
  | 'IPSecUser'
  | 'TimeStamp'
  | 'OCSPSign'
  | 'DVCS'
  | 'IKEIntermediate';

/** One `DistinguishedNameDefinition`. */
export interface DistinguishedNameRule {
  /** Attribute name as written, upper-cased: `CN`, `OU`, `ISSUER-CN`, … */
  name: string;
  /** True when the name starts with `ISSUER-` (matched against the issuer DN). */
  issuer: boolean;
  /** The attribute without the `ISSUER-` prefix: `CN`, `DC`, `EA`, … */
  attribute: string;
  /** Whitespace-collapsed pattern. */
  pattern: string;
  /** `Wildcard="Enabled"`: substring match; otherwise whole-value equality. */
  wildcard: boolean;
  /** `Operator`. */
  operator: 'Equal' | 'NotEqual';
  /** `MatchCase="Enabled"` (default). */
  matchCase: boolean;
  line: number;
}

/** `CertificateMatch`: every present rule must hold. */
export interface CertificateMatch {
  /** Any one of these key usages must be present (OR). Empty = no KU rule. */
  keyUsage: KeyUsageName[];
  /** All of these EKUs must be present (AND), as dotted OIDs (named ones already mapped). */
  extendedKeyUsage: string[];
  /** The named EKUs as written (for display). */
  extendedKeyUsageNames: ExtendedKeyUsageName[];
  /** `CustomExtendedMatchKey` OIDs (also included in `extendedKeyUsage`). */
  customExtendedKeyUsage: string[];
  /** All rules must hold (AND). */
  distinguishedName: DistinguishedNameRule[];
  matchOnlyCertsWithKU: boolean;
  matchOnlyCertsWithEKU: boolean;
  /**
   * Rules present in the file that could not be understood (unknown key usage, EKU name, DN
   * attribute, malformed OID…), each as `line N: description`. A match with any such rule accepts
   * NO certificate: dropping the rule would make the match broader than the administrator wrote,
   * which could select a certificate the profile meant to exclude (fail closed).
   */
  unusableRules: string[];
}

/** One `Pin` of a `CertificatePinList`. */
export interface CertificatePin {
  /** The pin text as written. Its encoding is [unverified] (docs/profile.md#server-trust-and-pins). */
  value: string;
  subject?: string;
  issuer?: string;
  line: number;
}

/** One `TrustedHttpsServer`. */
export interface TrustedHttpsServer {
  address: string;
  port: number;
  /** SHA-256 of the DER leaf certificate, lower-case hex ([unverified] encoding). */
  certificateHash: string;
}

/** `AutomaticVPNPolicy` (Trusted Network Detection and Always-On). */
export interface AutomaticVpnPolicy {
  enabled: boolean;
  trustedDnsDomains: string[];
  trustedDnsServers: string[];
  trustedHttpsServers: TrustedHttpsServer[];
  disableUntrustedInterfaces: boolean;
  trustedNetworkPolicy: 'Connect' | 'Pause' | 'Disconnect' | 'DoNothing';
  untrustedNetworkPolicy: 'Connect' | 'DoNothing';
  bypassConnectUponSessionTimeout: boolean;
  alwaysOn: {
    enabled: boolean;
    connectFailurePolicy: 'Open' | 'Closed';
    allowCaptivePortalRemediation: boolean;
    captivePortalRemediationTimeout: number;
    applyLastVpnLocalResourceRules: boolean;
    allowVpnDisconnect: boolean;
    allowedHosts: string[];
  };
}

/** `CertificateEnrollment` (SCEP); parsed and shown, not acted on. */
export interface CertificateEnrollment {
  certificateExpirationThreshold?: number;
  automaticScepHost?: string;
  caUrl?: { url: string; promptForChallengePw: boolean; thumbprint?: string };
  certificateImportStore: CertificateStoreWin;
  certificateImportStoreLinux?: CertificateStoreLinux;
  /** SCEP subject fields by element name (`Name_CN`, `Department_OU`, …); `Domain_DC` may repeat. */
  scepFields: Record<string, string | string[]>;
  keySize?: 1024 | 2048 | 4096;
  displayGetCertButton: boolean;
}

/** `ClientInitialization` with defaults applied. */
export interface ClientInitialization {
  // stores
  certificateStore: Pref<CertificateStoreWin>;
  certificateStoreMac: Pref<CertificateStoreMac>;
  certificateStoreLinux: Pref<CertificateStoreLinux>;
  certificateStoreOverride: Pref<boolean>;
  // selection
  automaticCertSelection: Pref<boolean>;
  certificateMatch: CertificateMatch | null;
  clearSmartcardPin: Pref<boolean>;
  showPreConnectMessage: Pref<boolean>;
  // trust
  certificatePinning: { enabled: boolean; source: ValueSource; pins: CertificatePin[] };
  /** Not a profile element (it belongs to the local policy) but real profiles carry it. */
  strictCertificateTrust: Pref<boolean> | null;
  // reconnect and the rest
  autoReconnect: Pref<boolean>;
  autoReconnectBehavior: Pref<'DisconnectOnSuspend' | 'ReconnectAfterResume'>;
  suspendOnConnectedStandby: Pref<boolean>;
  authenticationTimeout: Pref<number>;
  proxySettings: Pref<'Native' | 'IgnoreProxy' | 'Override'>;
  publicProxyServerAddress?: string;
  allowLocalProxyConnections: Pref<boolean>;
  ipProtocolSupport: Pref<Array<'IPv4' | 'IPv6'>>;
  autoConnectOnStart: Pref<boolean>;
  minimizeOnConnect: Pref<boolean>;
  localLanAccess: Pref<boolean>;
  disableCaptivePortalDetection: Pref<boolean>;
  captivePortalRemediationBrowserFailover: Pref<boolean>;
  allowManualHostInput: Pref<boolean>;
  serviceDisable: Pref<boolean>;
  enableAutomaticServerSelection: Pref<boolean>;
  autoServerSelectionImprovement: Pref<number>;
  autoServerSelectionSuspendTime: Pref<number>;
  backupServerList: string[];
  // logon / scripting (parsed, not acted on)
  useStartBeforeLogon: Pref<boolean>;
  windowsLogonEnforcement: Pref<string>;
  linuxLogonEnforcement: Pref<string>;
  windowsVpnEstablishment: Pref<string>;
  linuxVpnEstablishment: Pref<string>;
  retainVpnOnLogoff: Pref<boolean>;
  retainVpnOnLogoffUserEnforcement: Pref<'SameUserOnly' | 'AnyUser'>;
  enableScripting: Pref<boolean>;
  terminateScriptOnNextEvent: Pref<boolean>;
  enablePostSblOnConnectScript: Pref<boolean>;
  pppExclusion: Pref<'Automatic' | 'Disable' | 'Override'>;
  pppExclusionServerIp?: string;
  autoUpdate: Pref<boolean>;
  rsaSecurIdIntegration: Pref<'Automatic' | 'SoftwareToken' | 'HardwareToken'>;
  safeWordSofTokenIntegration: Pref<boolean>;
  allowIpsecOverSsl: Pref<boolean>;
  // automatic VPN policy (TND, Always-On)
  automaticVpnPolicy: AutomaticVpnPolicy;
  // certificate enrollment (SCEP)
  certificateEnrollment: CertificateEnrollment | null;
}

/** One `HostEntry`. */
export interface HostEntry {
  hostName: string;
  /** `HostAddress`, or `HostName` when absent (docs/profile.md#server-list). */
  hostAddress: string;
  userGroup?: string;
  /** `https://HostAddress/UserGroup` (or without the group). */
  url: string;
  backupServers: string[];
  loadBalancingServers: string[];
  primaryProtocol: 'SSL' | 'IPsec';
  standardAuthenticationOnly?: {
    enabled: boolean;
    authMethodDuringIkeNegotiation: string;
    ikeIdentity?: string;
  };
  automaticScepHost?: string;
  caUrl?: string;
  pins: CertificatePin[];
  line: number;
}

/** Which kind of file this is. */
export type ProfileKind = 'vpn' | 'local-policy';

/** A parsed `AnyConnectProfile`. */
export interface ClientProfile {
  kind: 'vpn';
  /** True when the file sits in a `mgmttun` directory or is named VpnMgmtTunProfile.xml. */
  managementTunnel: boolean;
  namespace: string | null;
  clientInitialization: ClientInitialization;
  serverList: HostEntry[];
  /** For management-tunnel profiles: the forced settings (docs/profile.md#management-tunnel), with what they overrode. */
  machineTunnel?: MachineTunnelSettings;
}

/** Effective machine-tunnel settings, each override listed. */
export interface MachineTunnelSettings {
  certificateStore: 'Machine';
  certificateStoreMac: 'System';
  certificateStoreLinux: 'Machine';
  automaticCertSelection: true;
  strictCertificateTrust: true;
  autoReconnect: true;
  autoReconnectBehavior: 'ReconnectAfterResume';
  /** False when the profile has no TND configuration: the tunnel must then not start. */
  tndConfigured: boolean;
  trustedNetworkPolicy: 'Disconnect';
  untrustedNetworkPolicy: 'Connect';
  /** Human-readable list of values that differed in the file and were overridden. */
  overrides: string[];
}

/** `AnyConnectLocalPolicy` (docs/profile.md#local-policy). */
export interface LocalPolicy {
  kind: 'local-policy';
  namespace: string | null;
  acversion?: string;
  fipsMode: boolean;
  bypassDownloader: boolean;
  restrictWebLaunch: boolean;
  strictCertificateTrust: boolean;
  enableCrlCheck: boolean;
  restrictTunnelProtocols: 'false' | 'IPSec' | 'TLS';
  restrictPreferenceCaching: 'false' | 'Credentials' | 'Thumbprints' | 'CredentialsAndThumbprints' | 'All';
  excludePemFileCertStore: boolean;
  excludeWinNativeCertStore: boolean;
  excludeMacNativeCertStore: boolean;
  excludeFirefoxNssCertStore: boolean;
  updatePolicy: {
    allowSoftwareUpdatesFromAnyServer: boolean;
    allowComplianceModuleUpdatesFromAnyServer: boolean;
    allowVpnProfileUpdatesFromAnyServer: boolean;
    allowManagementVpnProfileUpdatesFromAnyServer: boolean;
    allowIseProfileUpdatesFromAnyServer: boolean;
    allowServiceProfileUpdatesFromAnyServer: boolean;
    authorizedServerList: string[];
  };
}

/** Result of parsing one file: the document and the warnings. */
export interface ParsedDocument<T> {
  document: T;
  warnings: ProfileWarning[];
}
