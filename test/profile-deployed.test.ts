/**
 * `tandem profile check --json` over test/fixtures/profiles: our own profiles in the layouts
 * deployments use (CRLF, mixed content, local-policy elements in the wrong file, …; its
 * README.md says which file covers what), asserting specific values and warning positions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const fixtureDir = join(repoRoot, 'test/fixtures/profiles');

type Result = {
  file: string;
  valid: boolean;
  kind: string;
  errors: unknown[];
  warnings: Array<{ line: number; column: number; kind: string; message: string }>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the profile as --json prints it, read field by field
  profile: any;
};

describe('profiles in deployed layouts', () => {
  const byName = new Map<string, Result>();
  let code = -1;

  beforeAll(() => {
    if (!existsSync(join(repoRoot, 'apps/cli/dist/main.js')))
      execFileSync('npx', ['tsc', '-b', '--force', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
    const files = readdirSync(fixtureDir)
      .filter((f) => f.endsWith('.xml'))
      .sort()
      .map((f) => join(fixtureDir, f));
    const r = spawnSync(
      process.execPath,
      [join(repoRoot, 'apps/cli/bin/tandem.js'), 'profile', 'check', '--json', ...files],
      { encoding: 'utf8' },
    );
    code = r.status ?? -1;
    for (const res of JSON.parse(r.stdout) as Result[]) byName.set(res.file.slice(fixtureDir.length + 1), res);
  });

  const get = (name: string): Result => {
    const r = byName.get(name);
    if (!r) throw new Error(`${name} missing from output`);
    return r;
  };

  it('every fixture is valid and the command exits 0', () => {
    expect(code).toBe(0);
    expect(byName.size).toBe(7);
    for (const [name, r] of byName) expect(r.valid, name).toBe(true);
  });

  it('the CRLF fixtures still have CRLF line ends (.gitattributes keeps them byte-exact)', () => {
    for (const name of ['picker-sbl-5x.xml', 'editor-full-4x.xml']) {
      const text = readFileSync(join(fixtureDir, name), 'latin1');
      expect(text.match(/\n/g)?.length, name).toBe(text.match(/\r\n/g)?.length);
      expect(text.includes('\r\n'), name).toBe(true);
    }
  });

  it('picker-sbl-5x: CRLF, 5.x stores incl. Linux User, override true, locked picker, SBL, HostName ≠ HostAddress', () => {
    const r = get('picker-sbl-5x.xml');
    const ci = r.profile.clientInitialization;
    expect(ci.certificateStore).toEqual({ value: 'User', source: 'file' });
    expect(ci.certificateStoreMac).toEqual({ value: 'Login', source: 'file' });
    expect(ci.certificateStoreLinux).toEqual({ value: 'User', source: 'file' });
    expect(ci.certificateStoreOverride).toEqual({ value: true, source: 'file' });
    expect(ci.automaticCertSelection).toEqual({ value: false, source: 'file', userControllable: false });
    expect(ci.useStartBeforeLogon).toEqual({ value: true, source: 'file', userControllable: false });
    expect(ci.clearSmartcardPin).toEqual({ value: false, source: 'file', userControllable: false });
    expect(ci.rsaSecurIdIntegration).toEqual({ value: 'HardwareToken', source: 'file', userControllable: false });
    expect(ci.pppExclusion).toEqual({ value: 'Override', source: 'file', userControllable: false });
    expect(ci.pppExclusionServerIp).toBe('192.0.2.1');
    expect(ci.enableScripting).toEqual({ value: true, source: 'file', userControllable: false });
    expect(ci.terminateScriptOnNextEvent).toEqual({ value: true, source: 'file' });
    expect(ci.authenticationTimeout).toEqual({ value: 45, source: 'file' });
    expect(ci.ipProtocolSupport).toEqual({ value: ['IPv4'], source: 'file' });
    expect(ci.linuxLogonEnforcement.value).toBe('SingleLogonNoRemote');
    expect(r.profile.serverList).toEqual([
      expect.objectContaining({
        hostName: 'ra.example.com',
        hostAddress: 'edge1.example.net',
        userGroup: 'staff',
        url: 'https://edge1.example.net/staff',
        line: 45,
      }),
    ]);
    // MobileHostEntryInfo is schema, not a stranger: no warning for it or its children.
    expect(r.warnings).toEqual([]);
  });

  it('policy-elements-in-profile: KU/EKU match, global backup list, local-policy elements warned at line:column', () => {
    const r = get('policy-elements-in-profile.xml');
    const ci = r.profile.clientInitialization;
    expect(ci.certificateMatch).toMatchObject({
      keyUsage: ['Key_Encipherment', 'Digital_Signature'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
      extendedKeyUsageNames: ['ClientAuth'],
      distinguishedName: [],
      unusableRules: [],
    });
    expect(ci.backupServerList).toEqual(['standby-a.example.net', 'standby-b.example.net']);
    // Misplaced, but an administrator who wrote it wants strict trust.
    expect(ci.strictCertificateTrust).toEqual({ value: true, source: 'file' });
    // The schema element between the strangers is still read.
    expect(ci.windowsVpnEstablishment).toEqual({ value: 'LocalUsersOnly', source: 'file' });
    expect(r.profile.serverList.map((h: { hostName: string; url: string }) => [h.hostName, h.url])).toEqual([
      ['Lab gateway', 'https://lab.example.net'],
    ]);
    expect(r.warnings.map((w) => [w.line, w.column, w.kind, w.message.match(/<(\w+)>/)?.[1]])).toEqual([
      [22, 3, 'non-schema-element', 'FipsMode'],
      [23, 3, 'non-schema-element', 'StrictCertificateTrust'],
      [25, 3, 'non-schema-element', 'RestrictWebLaunch'],
      [26, 3, 'non-schema-element', 'EnableCRLCheck'],
      [27, 3, 'unknown-element', 'EnrollmentPinPolicy'],
      [28, 3, 'non-schema-element', 'RestrictTunnelProtocols'],
      [29, 3, 'non-schema-element', 'RestrictPreferenceCaching'],
      [30, 3, 'non-schema-element', 'BypassDownloader'],
    ]);
    expect(r.warnings[1]!.message).toMatch(/read anyway/);
  });

  it('always-on-https-tnd: TND by HTTPS probes, Always-On closed with remediation, load balancing, empty UserGroup', () => {
    const r = get('always-on-https-tnd.xml');
    const ci = r.profile.clientInitialization;
    expect(ci.automaticVpnPolicy).toEqual({
      enabled: true,
      trustedDnsDomains: [],
      trustedDnsServers: [],
      trustedHttpsServers: [
        // Hashes are compared lower-case whatever case the file uses.
        {
          address: 'probe.example.com',
          port: 8443,
          certificateHash: 'c40383e6505e6a5704ef9facc511ea500f06cd7e898051ef08d9c5d926c8ee23',
        },
        {
          address: '192.0.2.80',
          port: 443,
          certificateHash: 'add16614e9fb930b6a59fe30a9aafed52e35767d7e06414e5f694d9a5fdb942e',
        },
      ],
      disableUntrustedInterfaces: false,
      trustedNetworkPolicy: 'DoNothing',
      untrustedNetworkPolicy: 'Connect',
      bypassConnectUponSessionTimeout: false,
      alwaysOn: {
        enabled: true,
        connectFailurePolicy: 'Closed',
        allowCaptivePortalRemediation: true,
        captivePortalRemediationTimeout: 10,
        applyLastVpnLocalResourceRules: true,
        allowVpnDisconnect: false,
        allowedHosts: ['portal.example.com', '192.0.2.53'],
      },
    });
    // The policy is all ClientInitialization holds: every preference is a default.
    for (const key of ['certificateStore', 'automaticCertSelection', 'autoReconnect', 'authenticationTimeout'])
      expect(ci[key].source, key).toBe('default');
    expect(ci.certificateMatch).toBeNull();
    const [host, ...rest] = r.profile.serverList;
    expect(rest).toEqual([]);
    expect(host).toMatchObject({ hostName: 'Always-On pool', hostAddress: 'pool.example.com', line: 9 });
    expect(host.loadBalancingServers).toEqual(['node1.example.com', 'node2.example.com']);
    expect(host.userGroup).toBeUndefined();
    expect(host.url).toBe('https://pool.example.com');
    expect(r.warnings).toEqual([]);
  });

  it('editor-full-4x: CRLF, mixed content with children, trailing line break in a value, IP-literal host', () => {
    const r = get('editor-full-4x.xml');
    const ci = r.profile.clientInitialization;
    expect(ci.autoReconnect).toEqual({ value: true, source: 'file', userControllable: true });
    expect(ci.autoReconnectBehavior).toEqual({ value: 'ReconnectAfterResume', source: 'file', userControllable: true });
    expect(ci.retainVpnOnLogoff).toEqual({ value: true, source: 'file' });
    expect(ci.enableAutomaticServerSelection).toEqual({ value: true, source: 'file', userControllable: true });
    expect(ci.autoServerSelectionImprovement).toEqual({ value: 35, source: 'file' });
    expect(ci.autoServerSelectionSuspendTime).toEqual({ value: 8, source: 'file' });
    expect(ci.proxySettings).toEqual({ value: 'Override', source: 'file', userControllable: false });
    expect(ci.publicProxyServerAddress).toBe('proxy.example.com:3128');
    expect(ci.pppExclusion).toEqual({ value: 'Disable', source: 'file', userControllable: true });
    expect(ci.pppExclusionServerIp).toBeUndefined();
    expect(ci.enablePostSblOnConnectScript).toEqual({ value: false, source: 'file' });
    expect(ci.ipProtocolSupport).toEqual({ value: ['IPv6', 'IPv4'], source: 'file' });
    expect(ci.certificateStore.value).toBe('Machine');
    expect(ci.certificateStoreMac.value).toBe('System');
    expect(ci.certificateStoreLinux).toEqual({ value: 'All', source: 'default' });
    expect(ci.linuxVpnEstablishment).toEqual({ value: 'LocalUsersOnly', source: 'file' });
    expect(ci.linuxLogonEnforcement).toEqual({ value: 'SingleLogon', source: 'file' });
    expect(ci.captivePortalRemediationBrowserFailover).toEqual({ value: true, source: 'file' });
    expect(ci.allowManualHostInput).toEqual({ value: false, source: 'file' });
    expect(ci.automaticVpnPolicy.enabled).toBe(false);
    expect(r.profile.serverList).toEqual([
      expect.objectContaining({
        hostName: 'Datacenter edge',
        hostAddress: '192.0.2.77',
        url: 'https://192.0.2.77',
        line: 53,
      }),
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('group-url-4x: UserGroup URL, AuthenticationTimeout 12, no macOS or Linux store element', () => {
    const r = get('group-url-4x.xml');
    const ci = r.profile.clientInitialization;
    expect(r.profile.serverList).toEqual([
      expect.objectContaining({
        hostName: 'Partner access',
        userGroup: 'contractors',
        url: 'https://partners.example.com/contractors',
        line: 26,
      }),
    ]);
    expect(ci.authenticationTimeout).toEqual({ value: 12, source: 'file' });
    expect(ci.certificateStore).toEqual({ value: 'Machine', source: 'file' });
    expect(ci.certificateStoreMac).toEqual({ value: 'All', source: 'default' });
    expect(ci.certificateStoreLinux).toEqual({ value: 'All', source: 'default' });
    expect(ci.automaticCertSelection).toEqual({ value: true, source: 'file', userControllable: true });
    expect(ci.autoReconnectBehavior).toEqual({ value: 'DisconnectOnSuspend', source: 'file', userControllable: false });
    expect(ci.allowLocalProxyConnections).toEqual({ value: false, source: 'file' });
    expect(r.warnings).toEqual([]);
  });

  it('hosts-only: two hosts, no ClientInitialization so every preference is a default', () => {
    const r = get('hosts-only.xml');
    expect(
      r.profile.serverList.map((h: { hostName: string; url: string; line: number }) => [h.hostName, h.url, h.line]),
    ).toEqual([
      ['Head Office', 'https://hq.example.net', 7],
      ['Branch Office North', 'https://north.branch.example.net', 11],
    ]);
    const ci = r.profile.clientInitialization;
    for (const key of [
      'certificateStore',
      'certificateStoreLinux',
      'certificateStoreOverride',
      'automaticCertSelection',
      'authenticationTimeout',
    ]) {
      expect(ci[key].source, key).toBe('default');
    }
    expect(ci.authenticationTimeout.value).toBe(30);
    expect(ci.certificateMatch).toBeNull();
    expect(ci.automaticVpnPolicy.enabled).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it('local-policy-deployed: namespace, acversion and every flag', () => {
    const r = get('local-policy-deployed.xml');
    expect(r.kind).toBe('local-policy');
    expect(r.profile).toEqual({
      kind: 'local-policy',
      namespace: 'http://schemas.xmlsoap.org/encoding/',
      acversion: '5.0.03072',
      fipsMode: false,
      bypassDownloader: true,
      restrictWebLaunch: true,
      strictCertificateTrust: true,
      enableCrlCheck: true,
      restrictTunnelProtocols: 'false',
      restrictPreferenceCaching: 'Credentials',
      excludePemFileCertStore: false,
      excludeWinNativeCertStore: true,
      excludeMacNativeCertStore: false,
      excludeFirefoxNssCertStore: true,
      updatePolicy: {
        allowSoftwareUpdatesFromAnyServer: false,
        allowComplianceModuleUpdatesFromAnyServer: true,
        allowVpnProfileUpdatesFromAnyServer: true,
        allowManagementVpnProfileUpdatesFromAnyServer: false,
        allowIseProfileUpdatesFromAnyServer: false,
        allowServiceProfileUpdatesFromAnyServer: true,
        authorizedServerList: ['updates.example.net'],
      },
    });
    expect(r.warnings).toEqual([]);
  });
});
