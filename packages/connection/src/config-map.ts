/**
 * The one place where the protocol's view of a tunnel (anyconnect `TunnelConfig`, from the
 * CONNECT headers) becomes the host's view (tunnel `NetworkConfig`, what vpnc-script applies).
 * The network part is already parsed (a @tandem/common `TunnelNetwork`), so it is handed over
 * as it is: nothing is turned back into text and parsed again.
 */
import type { TunnelConfig } from '@tandem/anyconnect';
import { buildNetworkConfig, type NetworkConfig } from '@tandem/tunnel';

/**
 * Maps a CONNECT configuration to the network configuration for the gateway at `gatewayIp`.
 * Throws E_NETCONFIG when the gateway's values fail the host-side checks (list sizes, ranges).
 */
export function toNetworkConfig(cfg: TunnelConfig, gatewayIp: string): NetworkConfig {
  return buildNetworkConfig(gatewayIp, cfg, {
    ...(cfg.banner ? { banner: cfg.banner } : {}),
    ...(cfg.idleTimeout ? { idleTimeout: cfg.idleTimeout } : {}),
  });
}
