/**
 * The one place where the protocol's view of a tunnel (anyconnect `TunnelConfig`, from the
 * CONNECT headers) becomes the host's view (tunnel `NetworkConfig`, what vpnc-script applies).
 */
import type { Cidr, TunnelConfig } from '@tandem/anyconnect';
import type { NetworkConfig } from '@tandem/tunnel';

function cidr(r: Cidr): string {
  return `${r.address}/${r.prefix}`;
}

/** Maps a CONNECT configuration to the network configuration for the gateway at `gatewayIp`. */
export function toNetworkConfig(cfg: TunnelConfig, gatewayIp: string): NetworkConfig {
  return {
    gateway: gatewayIp,
    ...(cfg.ipv4 ? { ipv4: { address: cfg.ipv4.address, prefix: cfg.ipv4.prefix } } : {}),
    ...(cfg.ipv6 ? { ipv6: { address: cfg.ipv6.address, prefix: cfg.ipv6.prefix } } : {}),
    dns: cfg.dns,
    nbns: cfg.nbns,
    domains: cfg.defaultDomains,
    splitDns: cfg.splitDns,
    splitInclude: cfg.splitInclude.map(cidr),
    splitExclude: cfg.splitExclude.map(cidr),
    mtu: cfg.mtu,
    ...(cfg.banner ? { banner: cfg.banner } : {}),
    ...(cfg.idleTimeout ? { idleTimeout: cfg.idleTimeout } : {}),
  };
}
