/**
 * Pushed values are validated once, when the NetworkConfig is built, before any script runs:
 * hostile strings are refused with E_NETCONFIG and the (fake) script is never executed;
 * accepted values produce exactly the openconnect-style environment; the protocol layer's
 * already-parsed network gives the same configuration as the strings; fast-check shows random
 * domains/banners never reach the env unvalidated.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isTandemError,
  normalizeAddress,
  parseDnsName,
  parsePrefix,
  type IpAddress,
  type TunnelNetwork,
} from '@tandem/common';
import {
  VpncScriptConfigurator,
  buildNetworkConfig,
  buildScriptEnv,
  validateNetworkConfig,
  sanitizeBanner,
  validateDomain,
  type NetworkConfig,
  type NetworkConfigInput,
} from '@tandem/tunnel';

const base: NetworkConfigInput = {
  gateway: '192.0.2.1',
  ipv4: { address: '10.233.70.5', netmask: '255.255.255.0' },
  mtu: 1400,
};

let dir = '';
let script = '';
const dump = (): string => `${script}.env`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttn-script-'));
  script = join(dir, 'fake-vpnc-script');
  // Records its environment next to itself: proves whether (and with what) it ran.
  writeFileSync(script, '#!/bin/sh\nenv -0 > "$0.env"\n');
  chmodSync(script, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function envOf(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of readFileSync(dump(), 'utf8').split('\0').filter(Boolean)) {
    const i = kv.indexOf('=');
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** The whole path from untrusted values to the script: validate, then run the connect step. */
async function expectRefused(config: NetworkConfigInput): Promise<void> {
  rmSync(dump(), { force: true });
  const cfg = new VpncScriptConfigurator({ script });
  await expect(
    (async () => cfg.connect(validateNetworkConfig(config), { ownerPid: 4242, tunDevice: 'ttn9' }))(),
  ).rejects.toSatisfy((e: unknown) => isTandemError(e, 'E_NETCONFIG'));
  expect(existsSync(dump())).toBe(false);
}

describe('vpnc-script environment', () => {
  it('is exactly the openconnect variable set for a full configuration', async () => {
    rmSync(dump(), { force: true });
    const config: NetworkConfigInput = {
      gateway: '192.0.2.1',
      ipv4: { address: '10.233.70.5', netmask: '255.255.252.0' },
      ipv6: { address: 'fd00:233::5', prefix: 64 },
      dns: ['10.233.9.53', 'fd00:233::53', '10.233.9.54'],
      nbns: ['10.233.9.60', '0.0.0.0'],
      domains: ['corp.lab.test', 'lab.test.'],
      splitDns: ['corp.lab.test', 'internal.lab.test'],
      splitInclude: ['10.233.50.0/24', '10.233.51.7/255.255.255.0', '10.233.52.9', 'fd00:50::/48'],
      splitExclude: ['10.233.99.0/24'],
      mtu: 1434,
      banner: 'Line one\r\nIt%27s "quoted" $(id) `x`',
      idleTimeout: 1200,
    };
    await new VpncScriptConfigurator({ script, logLevel: 2 }).connect(validateNetworkConfig(config), {
      ownerPid: 4242,
      tunDevice: 'ttn9',
    });
    const env = envOf();
    delete env.PWD; // set by /bin/sh itself
    expect(env).toEqual({
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      reason: 'connect',
      VPNGATEWAY: '192.0.2.1',
      VPNPID: '4242',
      TUNDEV: 'ttn9',
      LOG_LEVEL: '2',
      IDLE_TIMEOUT: '1200',
      INTERNAL_IP4_MTU: '1434',
      INTERNAL_IP4_ADDRESS: '10.233.70.5',
      INTERNAL_IP4_NETMASK: '255.255.252.0',
      INTERNAL_IP4_NETMASKLEN: '22',
      INTERNAL_IP4_NETADDR: '10.233.68.0',
      INTERNAL_IP6_ADDRESS: 'fd00:233::5',
      INTERNAL_IP6_NETMASK: 'fd00:233::5/64',
      INTERNAL_IP4_DNS: '10.233.9.53 10.233.9.54',
      INTERNAL_IP6_DNS: 'fd00:233::53',
      INTERNAL_IP4_NBNS: '10.233.9.60',
      CISCO_DEF_DOMAIN: 'corp.lab.test lab.test',
      CISCO_SPLIT_DNS: 'corp.lab.test,internal.lab.test',
      CISCO_BANNER: 'Line one  Its quoted (id) x',
      CISCO_SPLIT_INC: '3',
      CISCO_SPLIT_INC_0_ADDR: '10.233.50.0',
      CISCO_SPLIT_INC_0_MASK: '255.255.255.0',
      CISCO_SPLIT_INC_0_MASKLEN: '24',
      CISCO_SPLIT_INC_1_ADDR: '10.233.51.0',
      CISCO_SPLIT_INC_1_MASK: '255.255.255.0',
      CISCO_SPLIT_INC_1_MASKLEN: '24',
      CISCO_SPLIT_INC_2_ADDR: '10.233.52.9',
      CISCO_SPLIT_INC_2_MASK: '255.255.255.255',
      CISCO_SPLIT_INC_2_MASKLEN: '32',
      CISCO_IPV6_SPLIT_INC: '1',
      CISCO_IPV6_SPLIT_INC_0_ADDR: 'fd00:50::',
      CISCO_IPV6_SPLIT_INC_0_MASKLEN: '48',
      CISCO_SPLIT_EXC: '1',
      CISCO_SPLIT_EXC_0_ADDR: '10.233.99.0',
      CISCO_SPLIT_EXC_0_MASK: '255.255.255.0',
      CISCO_SPLIT_EXC_0_MASKLEN: '24',
    });
  });

  it('omits the netmask variables when the gateway sent no netmask, and TUNDEV at pre-init without a name', () => {
    const env = new VpncScriptConfigurator({ script }).environment(
      'pre-init',
      validateNetworkConfig({ ...base, ipv4: { address: '10.233.70.5' } }),
      { ownerPid: 7 },
    );
    expect(env.INTERNAL_IP4_NETMASK).toBeUndefined();
    expect(env.TUNDEV).toBeUndefined();
    expect(env.CISCO_SPLIT_INC).toBeUndefined();
  });
});

describe('hostile pushed values are refused before the script runs', () => {
  const hostile = [
    'a\nnameserver 6.6.6.6',
    '$(id)',
    'x"; y',
    "x'; plugin /tmp/x.so; '",
    `${'a'.repeat(4096)}.test`,
    'a\0b',
    'a\rb',
    'corp..test',
    '-bad.test',
    'ok.test `id`',
  ];
  for (const h of hostile) {
    it(`domain ${JSON.stringify(h.slice(0, 30))}`, async () => {
      await expectRefused({ ...base, domains: [h] });
      await expectRefused({ ...base, splitDns: [h] });
    });
  }
  for (const bad of [
    '10.0.0.0/33',
    '10.0.0.0/255.0.255.0',
    '300.1.1.1/24',
    '010.1.1.1/8',
    '10.1.1/24',
    'fd00::/129',
    '10.0.0.0/24\nx',
    'default',
    '',
  ]) {
    it(`route ${JSON.stringify(bad)}`, async () => {
      await expectRefused({ ...base, splitInclude: [bad] });
      await expectRefused({ ...base, splitExclude: [bad] });
    });
  }
  it('addresses, DNS, MTU, idle timeout and the gateway', async () => {
    await expectRefused({ ...base, dns: ['10.0.0.1\nnameserver 6.6.6.6'] });
    await expectRefused({ ...base, dns: ['$(id)'] });
    await expectRefused({ ...base, gateway: 'vpn.example.com' });
    await expectRefused({ ...base, ipv4: { address: '10.0.0.1', netmask: '255.0.255.0' } });
    await expectRefused({ ...base, ipv6: { address: 'fe80::1%eth0', prefix: 64 } });
    await expectRefused({ ...base, mtu: 70000 });
    await expectRefused({ ...base, mtu: 1400.5 });
    await expectRefused({ ...base, idleTimeout: -1 });
    await expectRefused({ ...base, ipv4: undefined });
  });
  it('10,000 routes (beyond the 1024 cap)', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
    await expectRefused({ ...base, splitInclude: many });
    expect(() => validateNetworkConfig({ ...base, splitInclude: many.slice(0, 1024) })).not.toThrow();
  });
  it('a bad TUNDEV', async () => {
    rmSync(dump(), { force: true });
    await expect(
      new VpncScriptConfigurator({ script }).connect(validateNetworkConfig(base), {
        ownerPid: 1,
        tunDevice: 'tun0;id',
      }),
    ).rejects.toSatisfy((e: unknown) => isTandemError(e, 'E_NETCONFIG'));
    expect(existsSync(dump())).toBe(false);
  });
  it('a group-writable script', () => {
    chmodSync(script, 0o775);
    try {
      return expect(
        new VpncScriptConfigurator({ script }).connect(validateNetworkConfig(base), { ownerPid: 1, tunDevice: 'ttn9' }),
      ).rejects.toSatisfy((e: unknown) => isTandemError(e, 'E_NETCONFIG'));
    } finally {
      chmodSync(script, 0o755);
    }
  });
});

describe('one boundary: the protocol layer’s parsed network is used as it is', () => {
  const ip = (t: string): IpAddress => normalizeAddress(t)!.address;
  const parsedNet: TunnelNetwork = {
    ipv4: { address: ip('10.233.70.5'), prefix: 22 },
    ipv6: { address: ip('fd00:233::5'), prefix: 64 },
    dns: ['10.233.9.53', 'fd00:233::53'].map(ip),
    nbns: [ip('10.233.9.60')],
    defaultDomains: [parseDnsName('corp.lab.test')!],
    splitDns: [parseDnsName('internal.lab.test')!],
    splitInclude: ['10.233.51.7/255.255.255.0', 'fd00:50::/48'].map((r) => parsePrefix(r)!),
    splitExclude: [parsePrefix('10.233.99.0/24')!],
    mtu: 1434,
  };
  const strings: NetworkConfigInput = {
    gateway: '192.0.2.1',
    ipv4: { address: '10.233.70.5', prefix: 22 },
    ipv6: { address: 'fd00:233::5', prefix: 64 },
    dns: ['10.233.9.53', 'fd00:233::53'],
    nbns: ['10.233.9.60'],
    domains: ['corp.lab.test'],
    splitDns: ['internal.lab.test'],
    splitInclude: ['10.233.51.7/255.255.255.0', 'fd00:50::/48'],
    splitExclude: ['10.233.99.0/24'],
    mtu: 1434,
    banner: 'hi',
    idleTimeout: 60,
  };

  it('builds the same configuration as validating the same values as strings, host-bit warning included', () => {
    const built = buildNetworkConfig('192.0.2.1', parsedNet, { banner: 'hi', idleTimeout: 60 });
    expect(built).toEqual(validateNetworkConfig(strings));
    expect(built.include4[0]).toMatchObject({ address: '10.233.51.0', prefix: 24 });
    expect(built.warnings).toEqual(['splitInclude[0] had host bits set; using 10.233.51.0/24']);
  });

  it('still checks what parsing cannot: counts, families, ranges and the gateway address', () => {
    const refused = (over: Partial<TunnelNetwork>, gateway = '192.0.2.1'): boolean => {
      try {
        buildNetworkConfig(gateway, { ...parsedNet, ...over });
        return false;
      } catch (e) {
        return isTandemError(e, 'E_NETCONFIG');
      }
    };
    expect(refused({}, 'vpn.example.com')).toBe(true);
    expect(refused({ splitInclude: Array.from({ length: 1025 }, () => parsePrefix('10.0.0.0/8')!) })).toBe(true);
    expect(refused({ nbns: [ip('fd00::1')] })).toBe(true);
    expect(refused({ ipv4: { address: ip('fd00::1') } })).toBe(true);
    expect(refused({ ipv6: { address: ip('fd00::1'), prefix: 0 } })).toBe(true);
    expect(refused({ mtu: 70000 })).toBe(true);
    const { ipv4: _a, ipv6: _b, ...noAddress } = parsedNet;
    expect(refused(noAddress as Partial<TunnelNetwork>)).toBe(false);
    expect(() => buildNetworkConfig('192.0.2.1', noAddress as TunnelNetwork)).toThrow(/no tunnel address/);
  });

  it('a forged value that skipped the parsers is still refused before the script sees it', () => {
    const forged = {
      ...validateNetworkConfig(base),
      domains: ['corp.test\nnameserver 6.6.6.6'],
    } as unknown as NetworkConfig;
    expect(() => buildScriptEnv(forged, { reason: 'connect', ownerPid: 1, logLevel: 1, tunDevice: 'ttn9' })).toThrow(
      /CISCO_DEF_DOMAIN.*CR, LF, NUL or a quote/,
    );
  });
});

describe('property: random domains and banners never reach the env unvalidated', () => {
  const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
  const anyText = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.stringMatching(/^[a-z0-9.\-_ '"$`;\n\r\0]{0,40}$/),
  );
  // Built lazily: the fake script path is only known after beforeAll.
  const cfg = {
    environment: (reason: 'connect', config: NetworkConfigInput, ctx: { ownerPid: number; tunDevice: string }) =>
      new VpncScriptConfigurator({ script }).environment(reason, validateNetworkConfig(config), ctx),
  };

  it('domains: either refused with E_NETCONFIG or a syntactically valid hostname, verbatim', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        let env: Record<string, string>;
        try {
          env = cfg.environment(
            'connect',
            { ...base, domains: [s], splitDns: [s] },
            { ownerPid: 1, tunDevice: 'ttn9' },
          );
        } catch (e) {
          return isTandemError(e, 'E_NETCONFIG');
        }
        const d = env.CISCO_DEF_DOMAIN ?? '';
        return (
          d.length <= 253 &&
          d.split('.').every((l) => LABEL.test(l)) &&
          env.CISCO_SPLIT_DNS === d &&
          s.replace(/\.$/, '') === d
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('banners: never contain control characters, quotes, backticks, $ or backslashes', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const env = cfg.environment('connect', { ...base, banner: s }, { ownerPid: 1, tunDevice: 'ttn9' });
        const b = env.CISCO_BANNER ?? '';
        // eslint-disable-next-line no-control-regex
        return !/[\u0000-\u001f\u007f-\u009f"'`$\\]/.test(b) && b === sanitizeBanner(s);
      }),
      { numRuns: 1500 },
    );
  });

  it('no env value ever contains CR, LF, NUL or a quote for any mix of pushed strings', () => {
    fc.assert(
      fc.property(anyText, anyText, anyText, (a, b, c) => {
        let env: Record<string, string>;
        try {
          env = cfg.environment(
            'connect',
            { ...base, dns: [a], splitInclude: [b], domains: [c], banner: a + b + c },
            { ownerPid: 1, tunDevice: 'ttn9' },
          );
        } catch (e) {
          return isTandemError(e, 'E_NETCONFIG');
        }
        return Object.values(env).every((v) => !/[\r\n\0"'`]/.test(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('validateDomain accepts normal names', () => {
    expect(validateDomain('corp.lab.test.')).toBe('corp.lab.test');
    expect(validateDomain('_ldap._tcp.ad.example')).toBe('_ldap._tcp.ad.example');
  });
});
