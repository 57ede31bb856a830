/**
 * `system/software.txt`: other VPN and security software that may fight Tandem over routes, DNS
 * or the firewall — running processes by name, tunnel-like network links, and known install
 * directories. A hint for support, not an inventory: what is not on the lists is not seen.
 */
import { lstat } from 'node:fs/promises';
import type { Collector } from '@tandem/diagnostics';
import { formatRun, runCommand } from './exec.js';
import { IP } from './network.js';
import { listProcesses } from './proc.js';

/** Process names (the kernel's, at most 15 characters) and what they belong to. */
export const KNOWN_PROCESSES: ReadonlyArray<{ pattern: RegExp; product: string }> = [
  { pattern: /^openconnect$/, product: 'OpenConnect' },
  { pattern: /^openvpn$/, product: 'OpenVPN' },
  { pattern: /^openvpn3-servic/, product: 'OpenVPN 3' },
  { pattern: /^(charon|charon-systemd|starter)$/, product: 'strongSwan (IPsec)' },
  { pattern: /^pluto$/, product: 'Libreswan (IPsec)' },
  { pattern: /^racoon$/, product: 'ipsec-tools racoon (IPsec)' },
  { pattern: /^vpnc$/, product: 'vpnc' },
  {
    pattern: /^(vpnagentd|vpnui|acwebhelper|aciseagentd|acumbrellaagent)$/,
    product: 'Cisco Secure Client / AnyConnect',
  },
  { pattern: /^tailscaled$/, product: 'Tailscale' },
  { pattern: /^zerotier-one$/, product: 'ZeroTier' },
  { pattern: /^(wg-quick|wireguard-go|wg-crypt-)/, product: 'WireGuard' },
  // nm-openconnect-service is seen as nm-openconnect- (the kernel keeps 15 characters).
  { pattern: /^nm-[a-z0-9]+-(s|$)/, product: 'NetworkManager VPN plugin' },
  { pattern: /^pppd$/, product: 'pppd (PPP, L2TP, PPTP, SSTP)' },
  { pattern: /^xl2tpd$/, product: 'xl2tpd (L2TP)' },
  { pattern: /^(PanGPS|PanGPA|globalprotect)$/, product: 'Palo Alto GlobalProtect' },
  { pattern: /^(forticlient|fortitray|fctsched|openfortivpn)$/, product: 'Fortinet FortiClient / openfortivpn' },
  { pattern: /^(pulsesvc|dsAccessService)$/, product: 'Ivanti (Pulse) Secure' },
  { pattern: /^(f5fpc|svpn)$/, product: 'F5 BIG-IP Edge Client' },
  { pattern: /^(nxMonitor|netextender)$/, product: 'SonicWall NetExtender' },
  { pattern: /^(warp-svc)$/, product: 'Cloudflare WARP' },
  { pattern: /^(nordvpnd|expressvpnd|mullvad-daemon|protonvpn)$/, product: 'consumer VPN client' },
  { pattern: /^(netbird|nebula)$/, product: 'mesh VPN' },
  { pattern: /^(wdavdaemon)$/, product: 'Microsoft Defender for Endpoint' },
  { pattern: /^(falcon-sensor|falcond)$/, product: 'CrowdStrike Falcon' },
  { pattern: /^(s1-agent|s1-orchestrator|s1-firewall)$/, product: 'SentinelOne' },
  { pattern: /^(ds_agent)$/, product: 'Trend Micro Deep Security' },
  { pattern: /^(firewalld)$/, product: 'firewalld' },
  { pattern: /^(ufw)$/, product: 'ufw' },
];

/** Link kinds that carry a tunnel or IPsec. */
const TUNNEL_KINDS = new Set(['tun', 'wireguard', 'xfrm', 'vti', 'vti6', 'ipip', 'sit', 'gre', 'ip6tnl']);

/** Where vendor clients install themselves. */
export const KNOWN_DIRECTORIES: ReadonlyArray<{ path: string; product: string }> = [
  { path: '/opt/cisco/secureclient', product: 'Cisco Secure Client' },
  { path: '/opt/cisco/anyconnect', product: 'Cisco AnyConnect' },
  { path: '/opt/paloaltonetworks/globalprotect', product: 'Palo Alto GlobalProtect' },
  { path: '/opt/forticlient', product: 'Fortinet FortiClient' },
  { path: '/opt/pulsesecure', product: 'Ivanti (Pulse) Secure' },
];

interface LinkJson {
  ifname?: string;
  link_type?: string;
  operstate?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** Tunnel-like links in `ip -d -j link show` output, one line each. */
export function tunnelLinks(json: string): string[] {
  let links: LinkJson[];
  try {
    links = JSON.parse(json) as LinkJson[];
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const out: string[] = [];
  for (const l of links) {
    const kind = l.linkinfo?.info_kind;
    if ((kind && TUNNEL_KINDS.has(kind)) || l.link_type === 'ppp') {
      const data = l.linkinfo?.info_data;
      const detail = data ? ` ${JSON.stringify(data)}` : '';
      out.push(`  ${l.ifname ?? '?'}: kind ${kind ?? l.link_type ?? '?'}, ${l.operstate ?? '?'}${detail}`);
    }
  }
  return out;
}

/** Options of {@link softwareCollector}; paths injectable for tests. */
export interface SoftwareInput {
  procRoot?: string;
  directories?: ReadonlyArray<{ path: string; product: string }>;
}

/** `system/software.txt`. */
export function softwareCollector(input: SoftwareInput = {}): Collector {
  return async (ctx) => {
    const lines: string[] = ['== processes of other VPN and security software'];
    const found = (await listProcesses({ procRoot: input.procRoot, signal: ctx.signal }))
      .filter((p) => p.pid !== process.pid)
      .flatMap((p) => {
        const k = KNOWN_PROCESSES.find((e) => e.pattern.test(p.comm));
        return k ? [`  ${p.comm} (pid ${p.pid}, uid ${p.uid ?? '?'}): ${k.product}`] : [];
      });
    lines.push(...(found.length ? found : ['  none found']));

    lines.push('', "== tunnel and IPsec links (Tandem's own TUN device included)");
    const args = ['-d', '-j', 'link', 'show'];
    const r = await runCommand(IP, args, { signal: ctx.signal });
    if (r.exit === 0) {
      const links = tunnelLinks(r.stdout);
      lines.push(...(links.length ? links : ['  none found']));
    } else {
      lines.push(formatRun(IP, args, r).replace(/\n$/, ''));
    }

    lines.push('', '== installed clients');
    const installed: string[] = [];
    for (const d of input.directories ?? KNOWN_DIRECTORIES) {
      if (
        await lstat(d.path).then(
          () => true,
          () => false,
        )
      )
        installed.push(`  ${d.path}: ${d.product}`);
    }
    lines.push(...(installed.length ? installed : ['  none found']));
    return `${lines.join('\n')}\n`;
  };
}
