/**
 * What Tandem on Linux does with each local policy setting (docs/profile.md#local-policy). One
 * table serves the agent (what it logs as unsupported at load, what its diagnostics show) and
 * `tandem profile check`, so the report an administrator reads cannot drift from what runs.
 */
import type { LocalPolicy } from './model.js';
import { parseLocalPolicy } from './parse.js';

/** `enforced`: the agent acts on it; `no effect`: nothing in Tandem it could apply to; `not supported`: it would apply, but Tandem cannot honour it. */
export type PolicyEffect = 'enforced' | 'no effect' | 'not supported';

/** One setting as the report shows it. */
export interface LocalPolicySetting {
  /** The element name (`UpdatePolicy/…` for the update settings). */
  name: string;
  value: string;
  /** True when the value is the schema's default (absent or written as the default). */
  isDefault: boolean;
  effect: PolicyEffect;
  /** What Tandem does about it, in a few words. */
  note: string;
}

/** The policy in force when no file is installed: every schema default. */
export function defaultLocalPolicy(): LocalPolicy {
  return parseLocalPolicy(Buffer.from('<AnyConnectLocalPolicy/>'), { file: '(defaults)' }).document;
}

const NO_DOWNLOADS = 'Tandem downloads no software, modules or non-VPN profiles';

/** Every setting of `p` with its effect in Tandem, in the file's element order. */
export function localPolicySettings(p: LocalPolicy): LocalPolicySetting[] {
  const d = defaultLocalPolicy();
  const u = p.updatePolicy;
  const row = (
    name: string,
    value: unknown,
    dflt: unknown,
    effect: PolicyEffect,
    note: string,
  ): LocalPolicySetting => ({
    name,
    value: Array.isArray(value) ? value.join(', ') || '(none)' : String(value),
    isDefault: JSON.stringify(value) === JSON.stringify(dflt),
    effect,
    note,
  });
  const protocols: [PolicyEffect, string] =
    p.restrictTunnelProtocols === 'IPSec'
      ? ['not supported', 'Tandem speaks only TLS and DTLS; the IPsec restriction is not applied']
      : ['no effect', 'Tandem speaks only TLS and DTLS'];
  const caching = thumbprintCachingRestricted(p)
    ? "clients are told not to remember the user's certificate choice"
    : 'Tandem caches no credentials; certificate choices may be remembered where the profile allows';
  return [
    row('FipsMode', p.fipsMode, d.fipsMode, 'not supported', 'OpenSSL is not switched to FIPS mode'),
    row('BypassDownloader', p.bypassDownloader, d.bypassDownloader, 'no effect', NO_DOWNLOADS),
    row('RestrictWebLaunch', p.restrictWebLaunch, d.restrictWebLaunch, 'no effect', 'Tandem has no web launch'),
    row(
      'StrictCertificateTrust',
      p.strictCertificateTrust,
      d.strictCertificateTrust,
      'enforced',
      'every tunnel uses strict gateway trust: explicit CA bundle, no pin or profile setting overrides a failure',
    ),
    row('EnableCRLCheck', p.enableCrlCheck, d.enableCrlCheck, 'not supported', 'gateway CRLs are not fetched'),
    row('RestrictTunnelProtocols', p.restrictTunnelProtocols, d.restrictTunnelProtocols, ...protocols),
    row('RestrictPreferenceCaching', p.restrictPreferenceCaching, d.restrictPreferenceCaching, 'enforced', caching),
    row(
      'ExcludePemFileCertStore',
      p.excludePemFileCertStore,
      d.excludePemFileCertStore,
      'enforced',
      'certificates from file directories (PEM, DER, PKCS#12) are refused by the selection; tokens remain',
    ),
    row(
      'ExcludeWinNativeCertStore',
      p.excludeWinNativeCertStore,
      d.excludeWinNativeCertStore,
      'no effect',
      'Windows only',
    ),
    row(
      'ExcludeMacNativeCertStore',
      p.excludeMacNativeCertStore,
      d.excludeMacNativeCertStore,
      'no effect',
      'macOS only',
    ),
    row(
      'ExcludeFirefoxNSSCertStore',
      p.excludeFirefoxNssCertStore,
      d.excludeFirefoxNssCertStore,
      'enforced',
      "certificates from the user's NSS database (~/.pki/nssdb) are refused by the selection",
    ),
    row(
      'UpdatePolicy/AllowVPNProfileUpdatesFromAnyServer',
      u.allowVpnProfileUpdatesFromAnyServer,
      d.updatePolicy.allowVpnProfileUpdatesFromAnyServer,
      'enforced',
      'user profiles offered by a gateway are installed only from allowed servers',
    ),
    row(
      'UpdatePolicy/AllowManagementVPNProfileUpdatesFromAnyServer',
      u.allowManagementVpnProfileUpdatesFromAnyServer,
      d.updatePolicy.allowManagementVpnProfileUpdatesFromAnyServer,
      'enforced',
      'management tunnel profiles offered by a gateway are installed only from allowed servers',
    ),
    row(
      'UpdatePolicy/AuthorizedServerList',
      u.authorizedServerList,
      d.updatePolicy.authorizedServerList,
      'enforced',
      'the servers allowed when "from any server" is false',
    ),
    row(
      'UpdatePolicy/AllowSoftwareUpdatesFromAnyServer',
      u.allowSoftwareUpdatesFromAnyServer,
      d.updatePolicy.allowSoftwareUpdatesFromAnyServer,
      'no effect',
      NO_DOWNLOADS,
    ),
    row(
      'UpdatePolicy/AllowComplianceModuleUpdatesFromAnyServer',
      u.allowComplianceModuleUpdatesFromAnyServer,
      d.updatePolicy.allowComplianceModuleUpdatesFromAnyServer,
      'no effect',
      NO_DOWNLOADS,
    ),
    row(
      'UpdatePolicy/AllowISEProfileUpdatesFromAnyServer',
      u.allowIseProfileUpdatesFromAnyServer,
      d.updatePolicy.allowIseProfileUpdatesFromAnyServer,
      'no effect',
      NO_DOWNLOADS,
    ),
    row(
      'UpdatePolicy/AllowServiceProfileUpdatesFromAnyServer',
      u.allowServiceProfileUpdatesFromAnyServer,
      d.updatePolicy.allowServiceProfileUpdatesFromAnyServer,
      'no effect',
      NO_DOWNLOADS,
    ),
  ];
}

/** The settings written with a non-default value that Tandem cannot honour (the agent logs these at load). */
export function unsupportedSettings(p: LocalPolicy): LocalPolicySetting[] {
  return localPolicySettings(p).filter((s) => s.effect === 'not supported' && !s.isDefault);
}

/** True when the policy forbids remembering the user's certificate choice (`RestrictPreferenceCaching`). */
export function thumbprintCachingRestricted(p: LocalPolicy): boolean {
  return ['Thumbprints', 'CredentialsAndThumbprints', 'All'].includes(p.restrictPreferenceCaching);
}
