/**
 * Management (machine) tunnel handling (docs/profile.md#management-tunnel). Detection is by location because the file
 * format is identical to a user profile. The forced settings are computed here once,
 * with every value of the file that they override listed, so the agent can log each override.
 */
import { basename, dirname } from 'node:path';
import type { ClientProfile, MachineTunnelSettings } from './model.js';
import type { WarningSink } from './reader.js';
import { tndConfigured } from './vpn-policy.js';

/** The file name Cisco uses for the management tunnel profile. */
export const MGMT_PROFILE_FILE = 'VpnMgmtTunProfile.xml';

/** True when `path` names a management tunnel profile (file name or a `mgmttun` directory, any case). */
export function isManagementTunnelPath(path: string): boolean {
  const normalised = path.replace(/\\/g, '/');
  if (basename(normalised).toLowerCase() === MGMT_PROFILE_FILE.toLowerCase()) return true;
  return dirname(normalised)
    .split('/')
    .some((part) => part.toLowerCase() === 'mgmttun');
}

/** Computes the forced machine-tunnel settings for a profile and warns about each override. */
export function machineTunnelSettings(
  profile: Pick<ClientProfile, 'clientInitialization' | 'serverList'>,
  sink: WarningSink,
  at: { line: number; column: number },
): MachineTunnelSettings {
  const ci = profile.clientInitialization;
  const overrides: string[] = [];
  const force = (name: string, actual: unknown, forced: unknown, source: string): void => {
    if (actual !== forced) overrides.push(`${name}: ${String(actual)} (${source}) -> ${String(forced)}`);
  };
  force('CertificateStore', ci.certificateStore.value, 'Machine', ci.certificateStore.source);
  force('CertificateStoreMac', ci.certificateStoreMac.value, 'System', ci.certificateStoreMac.source);
  force('CertificateStoreLinux', ci.certificateStoreLinux.value, 'Machine', ci.certificateStoreLinux.source);
  force('AutomaticCertSelection', ci.automaticCertSelection.value, true, ci.automaticCertSelection.source);
  force(
    'StrictCertificateTrust',
    ci.strictCertificateTrust?.value ?? false,
    true,
    ci.strictCertificateTrust?.source ?? 'default',
  );
  force('AutoReconnect', ci.autoReconnect.value, true, ci.autoReconnect.source);
  force(
    'AutoReconnectBehavior',
    ci.autoReconnectBehavior.value,
    'ReconnectAfterResume',
    ci.autoReconnectBehavior.source,
  );
  const policy = ci.automaticVpnPolicy;
  force('TrustedNetworkPolicy', policy.trustedNetworkPolicy, 'Disconnect', 'file');
  force('UntrustedNetworkPolicy', policy.untrustedNetworkPolicy, 'Connect', 'file');
  const ucTrue = Object.entries(ci)
    .filter(([, v]) => {
      const p = v as { userControllable?: boolean; source?: string } | null;
      return typeof p === 'object' && p !== null && p.source === 'file' && p.userControllable === true;
    })
    .map(([key]) => key);
  if (ucTrue.length > 0) overrides.push(`UserControllable ignored for: ${ucTrue.join(', ')}`);
  if (ci.certificateEnrollment) overrides.push('CertificateEnrollment (SCEP) disabled on the management tunnel');
  force('EnableScripting', ci.enableScripting.value, false, ci.enableScripting.source);
  force('AutoUpdate', ci.autoUpdate.value, false, ci.autoUpdate.source);

  const configured = tndConfigured(policy);
  if (!configured) {
    sink.add(
      at,
      'mgmt-tnd-not-configured',
      'management tunnel profile has no Trusted Network Detection configuration (AutomaticVPNPolicy with TrustedDNSDomains, TrustedDNSServers or TrustedHttpsServerList); the management tunnel will not start',
    );
  }
  if (profile.serverList.length === 0) {
    sink.add(
      at,
      'mgmt-no-host',
      'management tunnel profile has no HostEntry; the management tunnel has nowhere to connect',
    );
  }
  return {
    certificateStore: 'Machine',
    certificateStoreMac: 'System',
    certificateStoreLinux: 'Machine',
    automaticCertSelection: true,
    strictCertificateTrust: true,
    autoReconnect: true,
    autoReconnectBehavior: 'ReconnectAfterResume',
    tndConfigured: configured,
    trustedNetworkPolicy: 'Disconnect',
    untrustedNetworkPolicy: 'Connect',
    overrides,
  };
}
