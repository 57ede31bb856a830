/**
 * A tunnel's split policy as Always-On needs it (docs/always-on.md): what the gateway's
 * configuration routes into the tunnel and keeps outside it, per family, read from the
 * tunnel's current configuration, and the data plane the engine gets, which reports it.
 */
import type { IpPrefix } from '@tandem/common';
import type { Tunnel, TunnelConfig } from '@tandem/connection';
import type { DataPlane, SplitFamily, SplitRouting } from '@tandem/engine';

const cidr = (p: IpPrefix): string => `${p.address}/${p.prefix}`;

/** The gateway's "allow the local LAN" mark: a split-exclude of the unspecified host address. */
function isLocalLanMark(p: IpPrefix): boolean {
  return p.family === 4 ? p.address === '0.0.0.0' && p.prefix === 32 : p.address === '::' && p.prefix === 128;
}

function family(cfg: TunnelConfig, f: 4 | 6, localLanAccess: boolean): SplitFamily | undefined {
  const hasAddress = f === 4 ? cfg.ipv4 !== undefined : cfg.ipv6 !== undefined;
  if (!hasAddress) {
    // X-CSTP-Client-Bypass-Protocol: the gateway lets a family it gave no address go around
    // the tunnel; without it that family is dropped, as Secure Client drops it.
    return cfg.clientBypassProtocol
      ? { include: [], exclude: [f === 4 ? '0.0.0.0/0' : '::/0'], localLan: false }
      : undefined;
  }
  const excluded = cfg.splitExclude.filter((p) => p.family === f);
  return {
    include: cfg.splitInclude.filter((p) => p.family === f).map(cidr),
    exclude: excluded.filter((p) => !isLocalLanMark(p)).map(cidr),
    localLan: localLanAccess && excluded.some(isLocalLanMark),
  };
}

/**
 * The split policy of a tunnel configuration. `localLanAccess` is the profile's LocalLanAccess:
 * the local LAN stays outside only when the gateway allows it too.
 */
export function splitRoutingOf(cfg: TunnelConfig, localLanAccess: boolean): SplitRouting {
  const ipv4 = family(cfg, 4, localLanAccess);
  const ipv6 = family(cfg, 6, localLanAccess);
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/**
 * The engine's data plane for `tunnel`, reporting its split policy besides everything the
 * tunnel itself does. Read at each call: a reconnect may bring a new configuration.
 */
export function withSplitRouting(tunnel: Tunnel, localLanAccess: boolean): DataPlane {
  let memo: { cfg: TunnelConfig; split: SplitRouting } | null = null;
  return {
    get addresses() {
      return tunnel.addresses;
    },
    get interfaceName() {
      return tunnel.interfaceName;
    },
    stats: () => tunnel.stats(),
    details: () => tunnel.details(),
    splitRouting: () => {
      const cfg = tunnel.tunnelConfig;
      if (memo?.cfg !== cfg) memo = { cfg, split: splitRoutingOf(cfg, localLanAccess) };
      return memo.split;
    },
    onDead: (listener) => tunnel.onDead(listener),
    onEnded: (listener) => tunnel.onEnded(listener),
    reconnect: (session, ctx) => tunnel.reconnect(session, ctx),
    networkChanged: () => tunnel.networkChanged(),
    close: (options) => tunnel.close(options),
  };
}
