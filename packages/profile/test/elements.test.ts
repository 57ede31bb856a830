import { describe, expect, it } from 'vitest';
import { parseAnyDocument, parseLocalPolicy, parseProfile, defaultClientInitialization } from '@tandem/profile';
import { fixture } from './helpers.js';

describe('full profile: every ClientInitialization and HostEntry element', () => {
  const { document: p, warnings } = parseProfile(fixture('full-profile.xml'), { file: 'full-profile.xml' });
  const ci = p.clientInitialization;

  it('has no warnings and is a user tunnel', () => {
    expect(warnings).toEqual([]);
    expect(p.managementTunnel).toBe(false);
    expect(p.machineTunnel).toBeUndefined();
    expect(p.namespace).toBe('http://schemas.xmlsoap.org/encoding/');
  });

  it('certificate stores (booleans case-insensitive)', () => {
    expect(ci.certificateStore).toEqual({ value: 'Machine', source: 'file' });
    expect(ci.certificateStoreMac.value).toBe('System');
    expect(ci.certificateStoreLinux.value).toBe('Machine');
    expect(ci.certificateStoreOverride).toEqual({ value: true, source: 'file' });
  });

  it('selection and CertificateMatch with EKU names mapped to OIDs', () => {
    expect(ci.automaticCertSelection).toEqual({ value: false, source: 'file', userControllable: false });
    expect(ci.clearSmartcardPin).toEqual({ value: false, source: 'file', userControllable: false });
    expect(ci.showPreConnectMessage.value).toBe(true);
    const m = ci.certificateMatch!;
    expect(m.matchOnlyCertsWithKU).toBe(true);
    expect(m.matchOnlyCertsWithEKU).toBe(true);
    expect(m.keyUsage).toEqual(['Digital_Signature', 'Key_Encipherment', 'Non_Repudiation']);
    expect(m.extendedKeyUsageNames).toEqual(['ClientAuth', 'IKEIntermediate']);
    expect(m.customExtendedKeyUsage).toEqual(['1.3.6.1.4.1.311.20.2.2']);
    expect(m.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.8.2.2', '1.3.6.1.4.1.311.20.2.2']);
    expect(m.distinguishedName).toEqual([
      {
        name: 'CN',
        issuer: false,
        attribute: 'CN',
        pattern: 'alice example',
        wildcard: true,
        operator: 'Equal',
        matchCase: false,
        line: 24,
      },
      {
        name: 'ISSUER-OU',
        issuer: true,
        attribute: 'OU',
        pattern: 'Revoked Unit',
        wildcard: false,
        operator: 'NotEqual',
        matchCase: true,
        line: 28,
      },
      {
        name: 'EA',
        issuer: false,
        attribute: 'EA',
        pattern: 'alice@example.com',
        wildcard: false,
        operator: 'Equal',
        matchCase: true,
        line: 32,
      },
    ]);
  });

  it('pinning', () => {
    expect(ci.certificatePinning.enabled).toBe(true);
    expect(ci.certificatePinning.pins).toEqual([
      { value: 'AABBCCDDEEFF', subject: 'vpn.example.com', issuer: 'Example CA', line: 42 },
      { value: '112233', line: 43 },
    ]);
    expect(ci.strictCertificateTrust).toBeNull();
  });

  it('reconnect, timeouts, proxies, IP, server selection (mixed content)', () => {
    expect(ci.autoReconnect).toEqual({ value: false, source: 'file', userControllable: true });
    expect(ci.autoReconnectBehavior).toEqual({ value: 'ReconnectAfterResume', source: 'file', userControllable: true });
    expect(ci.suspendOnConnectedStandby.value).toBe(true);
    expect(ci.authenticationTimeout).toEqual({ value: 120, source: 'file' });
    expect(ci.proxySettings.value).toBe('Override');
    expect(ci.publicProxyServerAddress).toBe('proxy.example.com:8080');
    expect(ci.allowLocalProxyConnections.value).toBe(false);
    expect(ci.ipProtocolSupport.value).toEqual(['IPv6', 'IPv4']);
    expect(ci.autoConnectOnStart).toEqual({ value: true, source: 'file', userControllable: true });
    expect(ci.minimizeOnConnect.value).toBe(false);
    expect(ci.localLanAccess.value).toBe(true);
    expect(ci.disableCaptivePortalDetection.value).toBe(true);
    expect(ci.captivePortalRemediationBrowserFailover.value).toBe(true);
    expect(ci.allowManualHostInput.value).toBe(false);
    expect(ci.serviceDisable.value).toBe(true);
    expect(ci.enableAutomaticServerSelection.value).toBe(true);
    expect(ci.autoServerSelectionImprovement.value).toBe(50);
    expect(ci.autoServerSelectionSuspendTime.value).toBe(12);
    expect(ci.backupServerList).toEqual(['backup1.example.com', 'backup2.example.com:8443']);
  });

  it('logon and scripting', () => {
    expect(ci.useStartBeforeLogon).toEqual({ value: true, source: 'file', userControllable: false });
    expect(ci.windowsLogonEnforcement.value).toBe('SingleLogonNoRemote');
    expect(ci.linuxLogonEnforcement.value).toBe('SingleLogon');
    expect(ci.windowsVpnEstablishment.value).toBe('LocalUsersOnly');
    expect(ci.linuxVpnEstablishment.value).toBe('LocalUsersOnly');
    expect(ci.retainVpnOnLogoff.value).toBe(true);
    expect(ci.retainVpnOnLogoffUserEnforcement.value).toBe('AnyUser');
    expect(ci.enableScripting.value).toBe(true);
    expect(ci.terminateScriptOnNextEvent.value).toBe(true);
    expect(ci.enablePostSblOnConnectScript.value).toBe(false);
    expect(ci.pppExclusion.value).toBe('Override');
    expect(ci.pppExclusionServerIp).toBe('192.0.2.1');
    expect(ci.autoUpdate).toEqual({ value: false, source: 'file', userControllable: true });
    expect(ci.rsaSecurIdIntegration.value).toBe('HardwareToken');
    expect(ci.safeWordSofTokenIntegration.value).toBe(true);
    expect(ci.allowIpsecOverSsl.value).toBe(true);
  });

  it('TND and Always-On', () => {
    expect(ci.automaticVpnPolicy).toEqual({
      enabled: true,
      trustedDnsDomains: ['corp.example.com', '*.example.net'],
      trustedDnsServers: ['192.0.2.53', '10.1.1.*'],
      trustedHttpsServers: [{ address: 'tnd.example.com', port: 8443, certificateHash: 'abcdef0123' }],
      disableUntrustedInterfaces: true,
      trustedNetworkPolicy: 'Pause',
      untrustedNetworkPolicy: 'DoNothing',
      bypassConnectUponSessionTimeout: true,
      alwaysOn: {
        enabled: true,
        connectFailurePolicy: 'Open',
        allowCaptivePortalRemediation: true,
        captivePortalRemediationTimeout: 15,
        applyLastVpnLocalResourceRules: true,
        allowVpnDisconnect: false,
        allowedHosts: ['portal.example.com', '192.0.2.7'],
      },
    });
  });

  it('certificate enrollment', () => {
    const e = ci.certificateEnrollment!;
    expect(e.certificateExpirationThreshold).toBe(14);
    expect(e.automaticScepHost).toBe('vpn.example.com/scep');
    expect(e.caUrl).toEqual({ url: 'http://ca.example.com/scep', promptForChallengePw: true, thumbprint: '0A1B2C' });
    expect(e.certificateImportStore).toBe('User');
    expect(e.certificateImportStoreLinux).toBe('Machine');
    expect({ ...e.scepFields }).toEqual({ Name_CN: '%USER%', Department_OU: 'IT', Domain_DC: ['example', 'com'] });
    expect(e.keySize).toBe(4096);
    expect(e.displayGetCertButton).toBe(true);
  });

  it('HostEntry with every child', () => {
    expect(p.serverList).toHaveLength(2);
    expect(p.serverList[0]).toEqual({
      hostName: 'Main',
      hostAddress: 'vpn.example.com:8443',
      userGroup: 'staff',
      url: 'https://vpn.example.com:8443/staff',
      backupServers: ['vpn-b.example.com'],
      loadBalancingServers: ['lb1.example.com', 'lb2.example.com'],
      primaryProtocol: 'IPsec',
      standardAuthenticationOnly: {
        enabled: true,
        authMethodDuringIkeNegotiation: 'IKE-RSA',
        ikeIdentity: 'client.example.com',
      },
      automaticScepHost: 'vpn.example.com/enroll',
      caUrl: 'http://ca.example.com/host-scep',
      pins: [{ value: 'DEADBEEF', subject: 'vpn.example.com', line: 154 }],
      line: 133,
    });
    // HostAddress missing: the HostName is used as the address (docs/profile.md#server-list).
    expect(p.serverList[1]).toMatchObject({
      hostName: 'vpn2.example.net',
      hostAddress: 'vpn2.example.net',
      url: 'https://vpn2.example.net',
    });
  });
});

describe('defaults', () => {
  it('a profile without ClientInitialization gets every built-in default, marked as such', () => {
    const xml =
      '<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ServerList><HostEntry><HostName>a.example.com</HostName></HostEntry></ServerList></AnyConnectProfile>';
    const ci = parseProfile(Buffer.from(xml)).document.clientInitialization;
    expect(ci).toEqual(defaultClientInitialization());
    expect(ci.certificateStore).toEqual({ value: 'All', source: 'default' });
    expect(ci.certificateStoreLinux).toEqual({ value: 'All', source: 'default' });
    expect(ci.certificateStoreOverride).toEqual({ value: false, source: 'default' });
    expect(ci.automaticCertSelection).toEqual({ value: true, source: 'default', userControllable: true });
    expect(ci.autoReconnect).toEqual({ value: true, source: 'default', userControllable: false });
    expect(ci.autoReconnectBehavior.value).toBe('DisconnectOnSuspend');
    expect(ci.authenticationTimeout).toEqual({ value: 30, source: 'default' });
    expect(ci.ipProtocolSupport.value).toEqual(['IPv4', 'IPv6']);
    expect(ci.minimizeOnConnect.value).toBe(true);
    expect(ci.allowManualHostInput.value).toBe(true);
    expect(ci.autoUpdate.value).toBe(true);
    expect(ci.windowsVpnEstablishment.value).toBe('AllowRemoteUsers');
    expect(ci.certificateMatch).toBeNull();
    expect(ci.certificateEnrollment).toBeNull();
    expect(ci.strictCertificateTrust).toBeNull();
    expect(ci.automaticVpnPolicy.enabled).toBe(false);
    expect(ci.automaticVpnPolicy.trustedNetworkPolicy).toBe('Disconnect');
    expect(ci.automaticVpnPolicy.alwaysOn.connectFailurePolicy).toBe('Closed');
  });
});

describe('junk values warn and fall back, never fatal', () => {
  const { document: p, warnings } = parseProfile(fixture('junk-values.xml'), { file: 'junk-values.xml' });
  const ci = p.clientInitialization;
  const at = (line: number) => warnings.filter((w) => w.line === line);

  it('bad boolean / enum / integer / UserControllable fall back to defaults with positioned warnings', () => {
    expect(ci.certificateStoreOverride).toEqual({ value: false, source: 'default' });
    expect(at(4)).toEqual([expect.objectContaining({ kind: 'bad-boolean', column: 3 })]);
    expect(ci.authenticationTimeout).toEqual({ value: 30, source: 'default' });
    expect(at(5)[0]).toMatchObject({ kind: 'bad-number' });
    expect(at(5)[0]!.message).toContain('"i"');
    expect(ci.certificateStore.value).toBe('All');
    expect(at(6)[0]?.kind).toBe('bad-value');
    expect(ci.automaticCertSelection).toEqual({ value: true, source: 'file', userControllable: true });
    expect(at(7)[0]?.kind).toBe('bad-boolean');
    expect(ci.ipProtocolSupport.source).toBe('default');
    expect(at(8)[0]?.kind).toBe('bad-value');
  });

  it('out-of-range integers warn and use the default', () => {
    expect(ci.autoServerSelectionImprovement).toEqual({ value: 20, source: 'default' });
    expect(ci.autoServerSelectionSuspendTime).toEqual({ value: 4, source: 'default' });
    expect(at(15)[0]?.kind).toBe('out-of-range');
    expect(at(16)[0]?.kind).toBe('out-of-range');
    const outOfRange = parseProfile(
      Buffer.from(
        '<AnyConnectProfile><ClientInitialization><AuthenticationTimeout>9</AuthenticationTimeout></ClientInitialization></AnyConnectProfile>',
      ),
    );
    expect(outOfRange.document.clientInitialization.authenticationTimeout.value).toBe(30);
    expect(outOfRange.warnings.some((w) => w.kind === 'out-of-range')).toBe(true);
  });

  it('unknown elements (including __proto__ and constructor) are warnings with positions, and pollute nothing', () => {
    const unknown = warnings.filter((w) => w.kind === 'unknown-element');
    expect(unknown.map((w) => [w.line, w.column])).toEqual([
      [9, 3],
      [10, 3],
      [11, 3],
    ]);
    expect(unknown[1]!.message).toContain('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a repeated element keeps the first and warns', () => {
    expect(ci.certificateStoreLinux.value).toBe('User');
    expect(at(13)[0]?.kind).toBe('duplicate-element');
  });

  it('unusable match rules are warned and recorded so the selector fails closed', () => {
    const m = ci.certificateMatch!;
    expect(m.keyUsage).toEqual([]);
    expect(m.extendedKeyUsage).toEqual([]);
    expect(m.distinguishedName.map((r) => r.operator)).toEqual(['Equal']);
    const dropped = warnings.filter((w) => w.kind === 'unusable-rule');
    expect(dropped.length).toBe(5);
    expect(dropped.every((w) => w.line >= 19 && w.line <= 27)).toBe(true);
    expect(dropped.every((w) => w.message.includes('no certificate matches until it is fixed'))).toBe(true);
    expect(m.unusableRules).toHaveLength(5);
    expect(m.unusableRules.every((r) => /^line (19|2[0-7]): /.test(r))).toBe(true);
  });

  it('host entries: empty dropped, address-only named by address, duplicates dropped, injected address refused', () => {
    expect(p.serverList.map((h) => h.hostName)).toEqual(['only-address.example.com', 'Dup']);
    expect(warnings.filter((w) => w.kind === 'dropped-host').map((w) => w.line)).toEqual([32, 49]);
    expect(warnings.find((w) => w.kind === 'duplicate-host')?.line).toBe(43);
    expect(warnings.find((w) => w.kind === 'missing-host-name')?.line).toBe(36);
  });
});

describe('namespaces: matched by local name whatever the namespace or prefix', () => {
  for (const [file, ns, warned] of [
    ['ns-prefixed.xml', 'http://schemas.xmlsoap.org/encoding/', false],
    ['ns-none.xml', null, true],
    ['ns-misspelled.xml', 'http://schemas.xmlsoap.org/encodng/', true],
  ] as const) {
    it(file, () => {
      const { document, warnings } = parseProfile(fixture(file), { file });
      expect(document.namespace).toBe(ns);
      expect(document.clientInitialization.certificateStoreLinux).toEqual({ value: 'Machine', source: 'file' });
      expect(document.serverList).toHaveLength(1);
      expect(warnings.filter((w) => w.kind === 'namespace').length).toBe(warned ? 1 : 0);
      expect(warnings.filter((w) => w.kind !== 'namespace')).toEqual([]);
    });
  }
});

describe('local policy', () => {
  it('reads every element, no namespace, acversion; warns on unknown', () => {
    const { document: lp, warnings } = parseLocalPolicy(fixture('local-policy-full.xml'), { file: 'lp.xml' });
    expect(lp).toEqual({
      kind: 'local-policy',
      namespace: null,
      acversion: '4.9.06037',
      fipsMode: true,
      bypassDownloader: true,
      restrictWebLaunch: true,
      strictCertificateTrust: true,
      enableCrlCheck: true,
      restrictTunnelProtocols: 'TLS',
      restrictPreferenceCaching: 'CredentialsAndThumbprints',
      excludePemFileCertStore: true,
      excludeWinNativeCertStore: true,
      excludeMacNativeCertStore: true,
      excludeFirefoxNssCertStore: true,
      updatePolicy: {
        allowSoftwareUpdatesFromAnyServer: false,
        allowComplianceModuleUpdatesFromAnyServer: false,
        allowVpnProfileUpdatesFromAnyServer: false,
        allowManagementVpnProfileUpdatesFromAnyServer: false,
        allowIseProfileUpdatesFromAnyServer: false,
        allowServiceProfileUpdatesFromAnyServer: false,
        authorizedServerList: ['vpn.example.com', 'vpn2.example.com'],
      },
    });
    expect(warnings.map((w) => [w.kind, w.line])).toEqual([
      ['namespace', 2],
      ['unknown-element', 26],
    ]);
  });

  it('parseAnyDocument dispatches on the root local name; parseProfile refuses a local policy', () => {
    expect(parseAnyDocument(fixture('local-policy-full.xml')).document.kind).toBe('local-policy');
    expect(parseAnyDocument(fixture('full-profile.xml')).document.kind).toBe('vpn');
    expect(() => parseProfile(fixture('local-policy-full.xml'), { file: 'lp.xml' })).toThrow(
      /lp\.xml:2:1: root element is <AnyConnectLocalPolicy>/,
    );
    expect(() => parseAnyDocument(Buffer.from('<Other/>'), { file: 'o.xml' })).toThrow(
      /o\.xml:1:1: root element is <Other>/,
    );
  });
});

describe('management tunnel', () => {
  it('detected by file name or mgmttun directory, or forced by option', () => {
    const bytes = fixture('mgmt-no-tnd.xml');
    expect(parseProfile(bytes, { file: '/opt/x/VpnMgmtTunProfile.xml' }).document.managementTunnel).toBe(true);
    expect(parseProfile(bytes, { file: 'C:\\Profile\\MgmtTun\\any.xml' }).document.managementTunnel).toBe(true);
    expect(parseProfile(bytes, { file: 'profile/mgmttun/a.xml' }).document.managementTunnel).toBe(true);
    expect(parseProfile(bytes, { file: 'profile/user.xml' }).document.managementTunnel).toBe(false);
    expect(parseProfile(bytes, { file: 'profile/user.xml', managementTunnel: true }).document.managementTunnel).toBe(
      true,
    );
  });

  it('forces machine settings, lists overrides and reports missing TND', () => {
    const { document, warnings } = parseProfile(fixture('mgmt-no-tnd.xml'), { managementTunnel: true });
    const m = document.machineTunnel!;
    expect(m).toMatchObject({
      certificateStore: 'Machine',
      certificateStoreMac: 'System',
      certificateStoreLinux: 'Machine',
      automaticCertSelection: true,
      strictCertificateTrust: true,
      autoReconnect: true,
      autoReconnectBehavior: 'ReconnectAfterResume',
      tndConfigured: false,
      trustedNetworkPolicy: 'Disconnect',
      untrustedNetworkPolicy: 'Connect',
    });
    expect(m.overrides).toEqual(
      expect.arrayContaining([
        'CertificateStore: User (file) -> Machine',
        'AutomaticCertSelection: false (file) -> true',
        'AutoReconnectBehavior: DisconnectOnSuspend (file) -> ReconnectAfterResume',
        'TrustedNetworkPolicy: DoNothing (file) -> Disconnect',
      ]),
    );
    expect(warnings.find((w) => w.kind === 'mgmt-tnd-not-configured')).toMatchObject({ line: 2, column: 1 });
    // The file's own values stay visible; only machineTunnel carries the forced ones.
    expect(document.clientInitialization.certificateStore.value).toBe('User');
  });

  it('TND configured → tndConfigured true and no warning', () => {
    const xml = fixture('mgmt-no-tnd.xml')
      .toString()
      .replace(
        '<TrustedNetworkPolicy>',
        '<TrustedDNSDomains>corp.example.com</TrustedDNSDomains><TrustedNetworkPolicy>',
      );
    const { document, warnings } = parseProfile(Buffer.from(xml), { managementTunnel: true });
    expect(document.machineTunnel?.tndConfigured).toBe(true);
    expect(warnings.some((w) => w.kind === 'mgmt-tnd-not-configured')).toBe(false);
  });
});
