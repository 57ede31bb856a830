/**
 * Human-readable rendering of `profile check` results: what an administrator needs to confirm
 * Tandem read the file as intended. Values that came from defaults are marked so.
 */
import {
  localPolicySettings,
  type CertificateMatch,
  type ClientInitialization,
  type ClientProfile,
  type LocalPolicy,
  type MachineTunnelSettings,
  type Pref,
} from '@tandem/profile';
import type { CheckResult } from './check-result.js';

function pref<T>(p: Pref<T>): string {
  const value = Array.isArray(p.value) ? p.value.join(',') : String(p.value);
  const notes = [p.source === 'default' ? 'default' : ''];
  if (p.userControllable) notes.push('user-controllable');
  const n = notes.filter((x) => x !== '');
  return n.length > 0 ? `${value} (${n.join(', ')})` : value;
}

function servers(profile: ClientProfile): string[] {
  const out = [`  Servers (${profile.serverList.length}):`];
  if (profile.serverList.length === 0) out.push('    (none)');
  for (const h of profile.serverList) {
    out.push(`    ${h.hostName} -> ${h.url}  [${h.primaryProtocol}] (line ${h.line})`);
    if (h.backupServers.length > 0) out.push(`      backup servers: ${h.backupServers.join(', ')}`);
    if (h.loadBalancingServers.length > 0) out.push(`      load balancing: ${h.loadBalancingServers.join(', ')}`);
    if (h.pins.length > 0) out.push(`      certificate pins: ${h.pins.length}`);
    if (h.standardAuthenticationOnly)
      out.push(
        `      standard authentication only: ${h.standardAuthenticationOnly.enabled} (${h.standardAuthenticationOnly.authMethodDuringIkeNegotiation})`,
      );
  }
  return out;
}

function match(m: CertificateMatch | null): string[] {
  if (!m) return ['    Certificate match: none in profile (selector default applies)'];
  const out = ['    Certificate match:'];
  if (m.keyUsage.length > 0) out.push(`      key usage (any of): ${m.keyUsage.join(', ')}`);
  if (m.extendedKeyUsage.length > 0)
    out.push(
      `      extended key usage (all of): ${m.extendedKeyUsage.join(', ')}${m.extendedKeyUsageNames.length > 0 ? ` [${m.extendedKeyUsageNames.join(', ')}]` : ''}`,
    );
  if (m.matchOnlyCertsWithKU) out.push('      only certificates with a KU extension');
  if (m.matchOnlyCertsWithEKU) out.push('      only certificates with an EKU extension');
  for (const r of m.distinguishedName) {
    const flags = [r.wildcard ? 'substring' : 'whole value', r.matchCase ? 'case-sensitive' : 'case-insensitive'];
    out.push(
      `      ${r.issuer ? 'issuer' : 'subject'} ${r.attribute} ${r.operator === 'Equal' ? '=' : '!='} "${r.pattern}" (${flags.join(', ')}; line ${r.line})`,
    );
  }
  return out;
}

function certificates(ci: ClientInitialization): string[] {
  return [
    '  Certificates:',
    `    stores: Windows ${pref(ci.certificateStore)}; macOS ${pref(ci.certificateStoreMac)}; Linux ${pref(ci.certificateStoreLinux)}`,
    `    store override (machine store for non-admin users): ${pref(ci.certificateStoreOverride)}`,
    `    automatic selection: ${pref(ci.automaticCertSelection)}`,
    ...match(ci.certificateMatch),
    `    server certificate pinning: ${ci.certificatePinning.enabled} (${ci.certificatePinning.pins.length} global pins)`,
  ];
}

function policy(ci: ClientInitialization): string[] {
  const p = ci.automaticVpnPolicy;
  if (!p.enabled) return ['  Trusted network detection: off'];
  const out = [
    '  Trusted network detection: on',
    `    trusted DNS domains: ${p.trustedDnsDomains.join(', ') || '(none)'}; servers: ${p.trustedDnsServers.join(', ') || '(none)'}`,
    `    trusted HTTPS servers: ${p.trustedHttpsServers.map((s) => `${s.address}:${s.port}`).join(', ') || '(none)'}`,
    `    on trusted network: ${p.trustedNetworkPolicy}; on untrusted network: ${p.untrustedNetworkPolicy}`,
  ];
  if (p.alwaysOn.enabled)
    out.push(
      `    Always-On: connect failure policy ${p.alwaysOn.connectFailurePolicy}, disconnect allowed ${p.alwaysOn.allowVpnDisconnect}`,
    );
  return out;
}

function machine(m: MachineTunnelSettings): string[] {
  return [
    '  Machine tunnel (forced settings):',
    `    certificate stores: Windows ${m.certificateStore}, macOS ${m.certificateStoreMac}, Linux ${m.certificateStoreLinux}; automatic selection; strict server trust`,
    `    reconnect: ${m.autoReconnectBehavior}; trusted network: ${m.trustedNetworkPolicy}; untrusted: ${m.untrustedNetworkPolicy}`,
    `    TND configured: ${m.tndConfigured ? 'yes' : 'NO - the management tunnel will not start'}`,
    ...(m.overrides.length > 0
      ? ['    overridden values:', ...m.overrides.map((o) => `      ${o}`)]
      : ['    overridden values: none']),
  ];
}

function localPolicy(p: LocalPolicy): string[] {
  // The agent's own table (@tandem/profile): what this prints is what tandemd does.
  const rows = localPolicySettings(p);
  const width = Math.max(...rows.map((r) => r.name.length));
  return [
    `  version: ${p.acversion ?? '(not given)'}`,
    '  What tandemd does with each setting (* = set in the file):',
    ...rows.map((r) => `   ${r.isDefault ? ' ' : '*'} ${r.name.padEnd(width)}  ${r.value}: ${r.effect} (${r.note})`),
  ];
}

/** The report for a valid file. */
export function renderReport(r: CheckResult): string {
  const lines: string[] = [];
  const doc = r.profile;
  if (doc?.kind === 'vpn') {
    lines.push(`${r.file}: valid ${doc.managementTunnel ? 'management tunnel' : 'user tunnel'} profile`);
    lines.push(...servers(doc), ...certificates(doc.clientInitialization), ...policy(doc.clientInitialization));
    if (doc.machineTunnel) lines.push(...machine(doc.machineTunnel));
  } else if (doc?.kind === 'local-policy') {
    lines.push(`${r.file}: valid local policy`, ...localPolicy(doc));
  }
  lines.push(`  Warnings (${r.warnings.length}):`);
  for (const w of r.warnings) lines.push(`    ${r.file}:${w.line}:${w.column}: ${w.kind}: ${w.message}`);
  return `${lines.join('\n')}\n\n`;
}

/** The stderr line(s) for an invalid file. */
export function renderError(r: CheckResult): string {
  return r.errors.map((e) => `tandem: invalid: ${e.message} [${e.code}]\n`).join('');
}
