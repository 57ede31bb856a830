/**
 * `tandem profile check --json` over the real public profiles in shared/profiles (see its
 * PROVENANCE.md), asserting specific values per file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const realDir = resolve(repoRoot, '../shared/profiles');
const haveReal = existsSync(realDir);

type Result = {
  file: string;
  valid: boolean;
  kind: string;
  errors: unknown[];
  warnings: Array<{ line: number; column: number; kind: string; message: string }>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the profile as --json prints it, read field by field
  profile: any;
};

describe.skipIf(!haveReal)(
  haveReal ? 'real public profiles' : `real public profiles — skipped because ${realDir} does not exist`,
  () => {
    const byName = new Map<string, Result>();
    let code = -1;

    beforeAll(() => {
      if (!existsSync(join(repoRoot, 'apps/cli/dist/main.js')))
        execFileSync('npx', ['tsc', '-b', '--force', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
      const files = readdirSync(realDir)
        .filter((f) => f.endsWith('.xml'))
        .sort()
        .map((f) => join(realDir, f));
      const r = spawnSync(
        process.execPath,
        [join(repoRoot, 'apps/cli/bin/tandem.js'), 'profile', 'check', '--json', ...files],
        { encoding: 'utf8' },
      );
      code = r.status ?? -1;
      for (const res of JSON.parse(r.stdout) as Result[]) byName.set(res.file.slice(realDir.length + 1), res);
    });

    const get = (name: string): Result => {
      const r = byName.get(name);
      if (!r) throw new Error(`${name} missing from output`);
      return r;
    };

    it('every real profile is valid and the command exits 0', () => {
      expect(code).toBe(0);
      expect(byName.size).toBe(7);
      for (const [name, r] of byName) expect(r.valid, name).toBe(true);
    });

    it('ocproto: 5.x stores incl. Linux User, override true, picker, UserControllable=false', () => {
      const r = get('ocproto-vpn.example.com.xml');
      const ci = r.profile.clientInitialization;
      expect(ci.certificateStore).toEqual({ value: 'User', source: 'file' });
      expect(ci.certificateStoreMac.value).toBe('Login');
      expect(ci.certificateStoreLinux).toEqual({ value: 'User', source: 'file' });
      expect(ci.certificateStoreOverride).toEqual({ value: true, source: 'file' });
      expect(ci.automaticCertSelection).toEqual({ value: false, source: 'file', userControllable: false });
      expect(ci.rsaSecurIdIntegration.value).toBe('SoftwareToken');
      expect(r.profile.serverList).toEqual([
        expect.objectContaining({
          hostName: 'vpn.example.com',
          hostAddress: 'server1.example.com',
          userGroup: 'users',
          url: 'https://server1.example.com/users',
          line: 45,
        }),
      ]);
      expect(r.warnings).toEqual([]);
    });

    it('ocserv-profile: KU/EKU match, global backup list, non-schema elements warned with line numbers', () => {
      const r = get('ocserv-profile.xml');
      const ci = r.profile.clientInitialization;
      expect(ci.certificateMatch).toMatchObject({
        keyUsage: ['Digital_Signature'],
        extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
        extendedKeyUsageNames: ['ClientAuth'],
      });
      expect(ci.backupServerList).toEqual(['localhost']);
      expect(ci.strictCertificateTrust).toEqual({ value: false, source: 'file' });
      expect(r.warnings.map((w) => [w.line, w.column, w.kind, w.message.match(/<(\w+)>/)?.[1]])).toEqual([
        [6, 3, 'non-schema-element', 'StrictCertificateTrust'],
        [7, 3, 'non-schema-element', 'RestrictPreferenceCaching'],
        [8, 3, 'non-schema-element', 'RestrictTunnelProtocols'],
        [9, 3, 'non-schema-element', 'BypassDownloader'],
        [11, 3, 'unknown-element', 'CertEnrollmentPin'],
      ]);
    });

    it('ocdaemon: TND with HTTPS servers, Always-On, load balancing, empty UserGroup', () => {
      const r = get('ocdaemon-profile.xml');
      const p = r.profile.clientInitialization.automaticVpnPolicy;
      expect(p).toMatchObject({
        enabled: true,
        trustedDnsDomains: [],
        trustedNetworkPolicy: 'Disconnect',
        untrustedNetworkPolicy: 'DoNothing',
      });
      expect(p.trustedHttpsServers).toEqual([{ address: 'WEB_SERVER', port: 443, certificateHash: 'cert_hash' }]);
      expect(p.alwaysOn).toEqual({
        enabled: true,
        connectFailurePolicy: 'Closed',
        allowCaptivePortalRemediation: true,
        captivePortalRemediationTimeout: 5,
        applyLastVpnLocalResourceRules: false,
        allowVpnDisconnect: true,
        allowedHosts: ['ocserv'],
      });
      const host = r.profile.serverList[0];
      expect(host.loadBalancingServers).toEqual(['oc-daemon-test-ocserv']);
      expect(host.userGroup).toBeUndefined();
      expect(host.url).toBe('https://oc-daemon-test-ocserv');
    });

    it('catalyst8000v: CRLF, mixed content ReconnectAfterResume, trailing-newline value, server selection children', () => {
      const ci = get('catalyst8000v-CiscoCatalyst8000v.xml').profile.clientInitialization;
      expect(ci.autoReconnect).toEqual({ value: true, source: 'file', userControllable: false });
      expect(ci.autoReconnectBehavior).toEqual({
        value: 'ReconnectAfterResume',
        source: 'file',
        userControllable: false,
      });
      expect(ci.retainVpnOnLogoff).toEqual({ value: false, source: 'file' });
      expect(ci.autoServerSelectionImprovement).toEqual({ value: 20, source: 'file' });
      expect(ci.linuxVpnEstablishment.value).toBe('LocalUsersOnly');
      expect(ci.allowLocalProxyConnections.value).toBe(false);
      expect(get('catalyst8000v-CiscoCatalyst8000v.xml').profile.serverList[0].hostAddress).toBe('192.0.2.10');
    });

    it('amp: two hosts, no ClientInitialization so every preference is a default', () => {
      const r = get('amp-AnyConnectProfile.xml');
      expect(r.profile.serverList.map((h: { hostName: string; url: string }) => [h.hostName, h.url])).toEqual([
        ['My VPN', 'https://vpn.example.com'],
        ['Alternative VPN', 'https://alt.vpn.example.com'],
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
    });

    it('etrsign external_vpn: UserGroup URL, AuthenticationTimeout 12, no macOS store element', () => {
      const r = get('etrsign-external_vpn.xml');
      expect(r.profile.serverList[0].url).toBe('https://vpn.example.com/external');
      expect(r.profile.clientInitialization.authenticationTimeout).toEqual({ value: 12, source: 'file' });
      expect(r.profile.clientInitialization.certificateStoreMac.source).toBe('default');
      expect(r.profile.clientInitialization.autoReconnectBehavior.value).toBe('DisconnectOnSuspend');
    });

    it('etrsign local policy: namespace, acversion and every flag', () => {
      const r = get('etrsign-AnyConnectLocalPolicy.xml');
      expect(r.kind).toBe('local-policy');
      expect(r.profile).toMatchObject({
        kind: 'local-policy',
        namespace: 'http://schemas.xmlsoap.org/encoding/',
        acversion: '4.4.04030',
        enableCrlCheck: false,
        excludeFirefoxNssCertStore: false,
        restrictTunnelProtocols: 'false',
        restrictPreferenceCaching: 'false',
        updatePolicy: {
          allowIseProfileUpdatesFromAnyServer: true,
          allowComplianceModuleUpdatesFromAnyServer: true,
          authorizedServerList: [],
        },
      });
      expect(r.warnings).toEqual([]);
    });
  },
);
