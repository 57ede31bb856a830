/**
 * CONNECT headers → anyconnect TunnelConfig → connection's toNetworkConfig → vpnc-script
 * environment, with no parsing in between: the values anyconnect parsed reach the script as
 * they are, and random header sets either end in a typed error or in an environment without
 * CR, LF, NUL or quotes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTunnelConfig } from '@tandem/anyconnect';
import { isTandemError } from '@tandem/common';
import { toNetworkConfig } from '../src/index.js';
import { buildScriptEnv } from '@tandem/tunnel';

const HEADERS: Array<[string, string]> = [
  ['x-cstp-address', '10.77.0.5'],
  ['x-cstp-netmask', '255.255.252.0'],
  ['x-cstp-address-ip6', 'fd00::5/64'],
  ['x-cstp-dns', '10.77.0.1'],
  ['x-cstp-dns-ip6', 'FD00:0::1'],
  ['x-cstp-default-domain', 'corp.lab.test lab.test.'],
  ['x-cstp-split-dns', 'corp.lab.test'],
  ['x-cstp-split-include', '10.77.1.9/255.255.255.0'],
  ['x-cstp-split-include-ip6', 'fd00:50::/48'],
  ['x-cstp-split-exclude', '10.77.99.0/24'],
  ['x-cstp-mtu', '1434'],
  ['x-cstp-idle-timeout', '1200'],
  ['x-cstp-banner', "It's %22quoted%22"],
];

const env = (headers: Array<[string, string]>): Record<string, string> =>
  buildScriptEnv(toNetworkConfig(parseTunnelConfig({ headers }), '192.0.2.1'), {
    reason: 'connect',
    ownerPid: 1,
    logLevel: 1,
    tunDevice: 'ttn9',
  });

describe('toNetworkConfig', () => {
  it('carries the parsed CONNECT values to the script environment', () => {
    const e = env(HEADERS);
    expect(e).toMatchObject({
      VPNGATEWAY: '192.0.2.1',
      INTERNAL_IP4_ADDRESS: '10.77.0.5',
      INTERNAL_IP4_NETMASK: '255.255.252.0',
      INTERNAL_IP4_NETMASKLEN: '22',
      INTERNAL_IP4_NETADDR: '10.77.0.0',
      INTERNAL_IP6_NETMASK: 'fd00::5/64',
      INTERNAL_IP4_DNS: '10.77.0.1',
      INTERNAL_IP6_DNS: 'fd00::1',
      CISCO_DEF_DOMAIN: 'corp.lab.test lab.test',
      CISCO_SPLIT_DNS: 'corp.lab.test',
      CISCO_SPLIT_INC: '1',
      CISCO_SPLIT_INC_0_ADDR: '10.77.1.0',
      CISCO_SPLIT_INC_0_MASKLEN: '24',
      CISCO_IPV6_SPLIT_INC_0_ADDR: 'fd00:50::',
      CISCO_SPLIT_EXC_0_MASK: '255.255.255.0',
      INTERNAL_IP4_MTU: '1434',
      IDLE_TIMEOUT: '1200',
      CISCO_BANNER: 'Its quoted',
    });
  });

  it('a gateway address that is not an IP is refused with E_NETCONFIG', () => {
    expect(() => toNetworkConfig(parseTunnelConfig({ headers: HEADERS }), 'vpn.example.com')).toThrow(
      expect.objectContaining({ code: 'E_NETCONFIG' }),
    );
  });

  it('property: random header values end in a typed error or a safe environment', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('10.0.0.0/8\n', 'a"b', "x'y", 'fe80::1%eth0', '10.0.0.1 ', '::/0', '0.0.0.0/0.0.0.0'),
      fc.ipV4(),
      fc.ipV6(),
    );
    const headers = fc
      .tuple(
        fc.subarray(HEADERS),
        fc.array(fc.tuple(fc.constantFrom(...HEADERS.map(([k]) => k), 'x-cstp-nbns'), value), { maxLength: 8 }),
      )
      .map(([a, b]) => [...a, ...b]);
    fc.assert(
      fc.property(headers, (h) => {
        let e: Record<string, string>;
        try {
          e = env(h);
        } catch (err) {
          if (isTandemError(err, 'E_PROTOCOL') || isTandemError(err, 'E_NETCONFIG')) return true;
          throw err;
        }
        return Object.values(e).every((v) => !/[\r\n\0"'`]/.test(v));
      }),
      { numRuns: 2000 },
    );
  });
});
