/**
 * A tunnel configuration's split policy as Always-On reads it (adapters/split-routing.ts) and
 * the local LAN's networks (adapters/local-networks.ts).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parsePrefix, type IpPrefix } from '@tandem/common';
import type { TunnelConfig } from '@tandem/connection';
import { splitRoutingOf } from '../src/adapters/split-routing.js';
import { localNetworks } from '../src/adapters/local-networks.js';

const prefixes = (...list: string[]): IpPrefix[] => list.map((p) => parsePrefix(p)!);

/** The fields splitRoutingOf reads; addresses as plain strings (it never looks at them). */
function config(over: Record<string, unknown>): TunnelConfig {
  return {
    ipv4: { address: '10.9.0.2', netmask: '255.255.255.0', prefix: 24 },
    splitInclude: [],
    splitExclude: [],
    clientBypassProtocol: false,
    ...over,
  } as unknown as TunnelConfig;
}

describe('splitRoutingOf', () => {
  it('a split-include tunnel: its networks per family, exclusions, and the local-LAN mark', () => {
    const cfg = config({
      ipv6: { address: 'fd00::2', prefix: 64 },
      splitInclude: prefixes('10.0.0.0/8', 'fd00:1::/48'),
      splitExclude: prefixes('10.1.0.0/255.255.0.0', '0.0.0.0/32'),
    });
    expect(splitRoutingOf(cfg, true)).toEqual({
      ipv4: { include: ['10.0.0.0/8'], exclude: ['10.1.0.0/16'], localLan: true },
      ipv6: { include: ['fd00:1::/48'], exclude: [], localLan: false },
    });
    // The gateway allows the local LAN, the profile's LocalLanAccess does not take it.
    expect(splitRoutingOf(cfg, false).ipv4?.localLan).toBe(false);
  });

  it('a family without a tunnel address stays blocked unless the gateway lets it bypass', () => {
    expect(splitRoutingOf(config({}), false)).toEqual({ ipv4: { include: [], exclude: [], localLan: false } });
    expect(splitRoutingOf(config({ clientBypassProtocol: true }), false).ipv6).toEqual({
      include: [],
      exclude: ['::/0'],
      localLan: false,
    });
  });
});

describe('localNetworks', () => {
  const info = (address: string, cidr: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    ({
      address,
      cidr,
      family,
      internal,
      netmask: '',
      mac: '',
      ...(family === 'IPv6' ? { scopeid: 0 } : {}),
    }) as NetworkInterfaceInfo;
  const interfaces = {
    lo: [info('127.0.0.1', '127.0.0.1/8', 'IPv4', true)],
    wlan0: [info('192.168.1.23', '192.168.1.23/24', 'IPv4'), info('fe80::1', 'fe80::1/64', 'IPv6')],
    tandem0: [info('10.9.0.2', '10.9.0.2/24', 'IPv4')],
  };
  it('the networks of every interface but loopback and the tunnel', () => {
    expect(localNetworks(4, 'tandem0', interfaces)).toEqual(['192.168.1.0/24']);
    expect(localNetworks(6, 'tandem0', interfaces)).toEqual(['fe80::/64']);
    expect(localNetworks(4, undefined, interfaces)).toEqual(['192.168.1.0/24', '10.9.0.0/24']);
  });
});
