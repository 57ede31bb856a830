/**
 * `ClientInitialization/AutomaticVPNPolicy`: Trusted Network Detection and Always-On
 * (docs/profile.md#trusted-network-detection-and-always-on). Parsed with defaults; the TND engine that acts on it lives elsewhere.
 */
import type { AutomaticVpnPolicy, TrustedHttpsServer } from './model.js';
import { boolValue, Children, commaList, enumPref, intPref, type WarningSink } from './reader.js';
import type { XmlElement } from '@tandem/xml';

/** The policy when the element is absent: TND and Always-On off. */
export function defaultVpnPolicy(): AutomaticVpnPolicy {
  return {
    enabled: false,
    trustedDnsDomains: [],
    trustedDnsServers: [],
    trustedHttpsServers: [],
    disableUntrustedInterfaces: false,
    trustedNetworkPolicy: 'Disconnect',
    untrustedNetworkPolicy: 'Connect',
    bypassConnectUponSessionTimeout: false,
    alwaysOn: {
      enabled: false,
      connectFailurePolicy: 'Closed',
      allowCaptivePortalRemediation: false,
      captivePortalRemediationTimeout: 5,
      applyLastVpnLocalResourceRules: false,
      allowVpnDisconnect: true,
      allowedHosts: [],
    },
  };
}

function readHttpsServer(el: XmlElement, sink: WarningSink): TrustedHttpsServer | null {
  const kids = new Children(el, new Set(['Address', 'Port', 'CertificateHash']), sink);
  const address = kids.one('Address')?.text ?? '';
  if (address === '') {
    sink.add(el, 'dropped-entry', 'TrustedHttpsServer without <Address> ignored');
    return null;
  }
  return {
    address,
    port: intPref(kids.one('Port'), 1, 65535, 443, sink).value,
    certificateHash: (kids.one('CertificateHash')?.text ?? '').toLowerCase(),
  };
}

function readAlwaysOn(el: XmlElement, sink: WarningSink, out: AutomaticVpnPolicy['alwaysOn']): void {
  out.enabled = boolValue(el, false, sink);
  const kids = new Children(el, new Set(['ConnectFailurePolicy', 'AllowVPNDisconnect', 'AllowedHosts']), sink);
  const cfp = kids.one('ConnectFailurePolicy');
  out.connectFailurePolicy = enumPref(cfp, ['Open', 'Closed'] as const, 'Closed', sink).value;
  if (cfp) {
    const c = new Children(cfp, new Set(['AllowCaptivePortalRemediation', 'ApplyLastVPNLocalResourceRules']), sink);
    const acpr = c.one('AllowCaptivePortalRemediation');
    out.allowCaptivePortalRemediation = boolValue(acpr, false, sink);
    if (acpr) {
      const t = new Children(acpr, new Set(['CaptivePortalRemediationTimeout']), sink).one(
        'CaptivePortalRemediationTimeout',
      );
      out.captivePortalRemediationTimeout = intPref(t, 0, 100, 5, sink).value;
    }
    out.applyLastVpnLocalResourceRules = boolValue(c.one('ApplyLastVPNLocalResourceRules'), false, sink);
  }
  out.allowVpnDisconnect = boolValue(kids.one('AllowVPNDisconnect'), true, sink);
  out.allowedHosts = commaList(kids.one('AllowedHosts')?.text);
}

/** Reads an `AutomaticVPNPolicy` element. */
export function readVpnPolicy(el: XmlElement, sink: WarningSink): AutomaticVpnPolicy {
  const policy = defaultVpnPolicy();
  policy.enabled = boolValue(el, false, sink);
  const kids = new Children(
    el,
    new Set([
      'TrustedDNSDomains',
      'TrustedDNSServers',
      'TrustedHttpsServerList',
      'DisableUntrustedInterfaces',
      'TrustedNetworkPolicy',
      'UntrustedNetworkPolicy',
      'BypassConnectUponSessionTimeout',
      'AlwaysOn',
    ]),
    sink,
  );
  policy.trustedDnsDomains = commaList(kids.one('TrustedDNSDomains')?.text);
  policy.trustedDnsServers = commaList(kids.one('TrustedDNSServers')?.text);
  const list = kids.one('TrustedHttpsServerList');
  if (list) {
    const servers = new Children(list, new Set(['TrustedHttpsServer']), sink, new Set(['TrustedHttpsServer']));
    for (const s of servers.all('TrustedHttpsServer')) {
      const server = readHttpsServer(s, sink);
      if (server) policy.trustedHttpsServers.push(server);
    }
  }
  policy.disableUntrustedInterfaces = boolValue(kids.one('DisableUntrustedInterfaces'), false, sink);
  policy.trustedNetworkPolicy = enumPref(
    kids.one('TrustedNetworkPolicy'),
    ['Connect', 'Pause', 'Disconnect', 'DoNothing'] as const,
    'Disconnect',
    sink,
  ).value;
  policy.untrustedNetworkPolicy = enumPref(
    kids.one('UntrustedNetworkPolicy'),
    ['Connect', 'DoNothing'] as const,
    'Connect',
    sink,
  ).value;
  policy.bypassConnectUponSessionTimeout = boolValue(kids.one('BypassConnectUponSessionTimeout'), false, sink);
  const alwaysOn = kids.one('AlwaysOn');
  if (alwaysOn) readAlwaysOn(alwaysOn, sink, policy.alwaysOn);
  if (policy.alwaysOn.enabled && !policy.enabled) {
    sink.add(
      alwaysOn ?? el,
      'inconsistent',
      'AlwaysOn is true but AutomaticVPNPolicy is false; Always-On stays inactive',
    );
  }
  return policy;
}

/** True when TND has something to decide with (a domain, a resolver or an HTTPS server). */
export function tndConfigured(policy: AutomaticVpnPolicy): boolean {
  return (
    policy.enabled &&
    (policy.trustedDnsDomains.length > 0 ||
      policy.trustedDnsServers.length > 0 ||
      policy.trustedHttpsServers.length > 0)
  );
}
