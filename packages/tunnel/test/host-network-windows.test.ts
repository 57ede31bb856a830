/**
 * The Windows routes-and-DNS backend driven through a recorded fake of the IP Helper API and the
 * registry (fake-windows.ts): the exact calls of a full and a split tunnel in order, a disconnect
 * that removes exactly what was added outside the adapter, a crash whose journal recover()
 * replays, and each documented failure code. Nothing here needs Windows: the real calls run in
 * .github/workflows/platforms.yml.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  journalPath,
  NetworkSession,
  readJournal,
  recover,
  validateNetworkConfig,
  type HostNetwork,
} from '@tandem/tunnel';
import { windowsHostNetwork } from '../src/host-network-windows.js';
import { Win32 } from '../src/win32-error-windows.js';
import { counterKeys, FakeWindows, TUN_GUID } from './fake-windows.js';

const full = validateNetworkConfig({
  gateway: '203.0.113.10',
  ipv4: { address: '10.8.0.2', prefix: 24 },
  dns: ['10.8.0.53'],
  domains: ['corp.example'],
  mtu: 1406,
});
const split = validateNetworkConfig({
  gateway: '203.0.113.10',
  ipv4: { address: '10.8.0.2', prefix: 24 },
  ipv6: { address: 'fd00::2', prefix: 64 },
  dns: ['10.8.0.53', 'fd00::53'],
  domains: ['corp.example'],
  splitDns: ['corp.example', 'lab.example'],
  splitInclude: ['10.0.0.0/8', 'fd00:1::/48'],
  splitExclude: ['10.9.0.0/16'],
  mtu: 1406,
});

const K1 = '{00000000-0000-0000-0000-000000000001}';
const nrptWrite = (key: string, names: string, servers: string): string[] => [
  'RegCreateKeyExW DnsPolicyConfig',
  'RegCloseKey',
  `RegCreateKeyExW DnsPolicyConfig\\${key} volatile`,
  'RegSetValueExW Version=2',
  `RegSetValueExW Name=${names}`,
  `RegSetValueExW GenericDNSServers=${servers}`,
  'RegSetValueExW ConfigOptions=8',
  'RegSetValueExW IPSECCARestriction=',
  'RegSetValueExW DisplayName=Tandem',
  'RegSetValueExW Comment=Tandem tunnel tandem0',
  'RegCloseKey',
];

let dir = '';
let fake: FakeWindows;
let backend: HostNetwork;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttn-hostnet-win-'));
  fake = new FakeWindows();
  backend = windowsHostNetwork(() => ({ ipHelper: fake, nrpt: fake }), counterKeys());
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function up(config = full, ownerPid = process.pid): Promise<NetworkSession> {
  fake.journal = { dir, pid: ownerPid };
  const session = await NetworkSession.begin({
    configurator: backend.configurator(),
    host: backend,
    config,
    journalDir: dir,
    ownerPid,
  });
  await session.connect('tandem0');
  return session;
}

describe('Windows bring-up', () => {
  it('full tunnel: host route first, the 0/1 + 128/1 pair, interface DNS, a "." NRPT rule', async () => {
    await up();
    expect(fake.calls).toEqual([
      'ConvertInterfaceAliasToLuid tandem0',
      'GetBestRoute2 203.0.113.10',
      'CreateUnicastIpAddressEntry 77 10.8.0.2/24',
      'SetIpInterfaceEntry 77 IPv4 mtu 1406',
      'CreateIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1',
      'CreateIpForwardEntry2 77 0.0.0.0/1 via 0.0.0.0',
      'CreateIpForwardEntry2 77 128.0.0.0/1 via 0.0.0.0',
      'ConvertInterfaceLuidToGuid 77',
      `SetInterfaceDnsSettings ${TUN_GUID} IPv4 10.8.0.53 search corp.example`,
      ...nrptWrite(K1, '.', '10.8.0.53'),
      'RefreshPolicyEx',
      'DnsFlushResolverCache',
    ]);
  });

  it('split tunnel: excludes via the physical route, includes on the adapter, one rule for the split domains', async () => {
    await up(split);
    expect(fake.calls).toEqual([
      'ConvertInterfaceAliasToLuid tandem0',
      'GetBestRoute2 203.0.113.10',
      'GetBestRoute2 10.9.0.0',
      'CreateUnicastIpAddressEntry 77 10.8.0.2/24',
      'CreateUnicastIpAddressEntry 77 fd00::2/64',
      'SetIpInterfaceEntry 77 IPv4 mtu 1406',
      'SetIpInterfaceEntry 77 IPv6 mtu 1406',
      'CreateIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1',
      'CreateIpForwardEntry2 5 10.9.0.0/16 via 192.168.1.1',
      'CreateIpForwardEntry2 77 10.0.0.0/8 via 0.0.0.0',
      'CreateIpForwardEntry2 77 fd00:1::/48 via ::',
      'ConvertInterfaceLuidToGuid 77',
      `SetInterfaceDnsSettings ${TUN_GUID} IPv4 10.8.0.53 search corp.example`,
      `SetInterfaceDnsSettings ${TUN_GUID} IPv6 fd00::53 search corp.example`,
      ...nrptWrite(K1, '.corp.example,.lab.example', '10.8.0.53;fd00::53'),
      'RefreshPolicyEx',
      'DnsFlushResolverCache',
    ]);
    const host = readJournal(journalPath(dir, process.pid))?.host;
    expect(host?.routes.map((r) => r.destination)).toEqual(['203.0.113.10/32', '10.9.0.0/16']);
    expect(host?.dnsKeys).toEqual([K1]);
  });

  it('more than 50 split domains make one rule per 50', async () => {
    const many = validateNetworkConfig({
      gateway: '203.0.113.10',
      ipv4: { address: '10.8.0.2' },
      dns: ['10.8.0.53'],
      splitDns: Array.from({ length: 32 }, (_, i) => `d${i}.example`),
      splitInclude: ['10.0.0.0/8'],
      mtu: 1406,
    });
    await up(many);
    expect(fake.calls.filter((c) => c.endsWith(' volatile'))).toHaveLength(1);
    const { planNrptRules } = await import('../src/nrpt-windows.js');
    const rules = planNrptRules(
      ['10.8.0.53'],
      Array.from({ length: 120 }, (_, i) => `d${i}.example`),
    );
    expect(rules.map((r) => r.namespaces.length)).toEqual([50, 50, 20]);
    expect(rules[0]?.namespaces[0]).toBe('.d0.example');
  });
});

describe('Windows close and crash', () => {
  it('disconnect removes exactly the host route, the excludes and the NRPT key, then the journal', async () => {
    const session = await up(split);
    const before = new Set(fake.routes);
    fake.calls.length = 0;
    const report = await session.disconnect();
    expect(fake.calls).toEqual([
      'DeleteIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1',
      'DeleteIpForwardEntry2 5 10.9.0.0/16 via 192.168.1.1',
      `RegDeleteKeyExW DnsPolicyConfig\\${K1}`,
      'RefreshPolicyEx',
      'DnsFlushResolverCache',
    ]);
    expect(report.repair.failures).toEqual([]);
    expect(report.repair.dnsRemoved).toEqual([K1]);
    expect([...before].filter((r) => !fake.routes.has(r))).toEqual([
      '5 203.0.113.10/32 via 192.168.1.1',
      '5 10.9.0.0/16 via 192.168.1.1',
    ]);
    expect([...fake.keys].filter((k) => k.includes('{'))).toEqual([]);
    expect(existsSync(journalPath(dir, process.pid))).toBe(false);
  });

  it('a crash leaves the journal; recover() removes what it lists and deletes it', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    await up(full, dead);
    fake.removeAdapter(); // the process died: Wintun's adapter and its routes went with it
    fake.calls.length = 0;
    const report = await recover(dir, { host: backend });
    expect(report.journals.map((j) => j.outcome)).toEqual(['restored']);
    expect(fake.calls).toEqual([
      'DeleteIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1',
      `RegDeleteKeyExW DnsPolicyConfig\\${K1}`,
      'RefreshPolicyEx',
      'DnsFlushResolverCache',
    ]);
    expect(fake.routes.size).toBe(0);
    expect(existsSync(journalPath(dir, dead))).toBe(false);
    // Idempotent: nothing left, nothing done.
    expect((await recover(dir, { host: backend })).journals).toEqual([]);
  });

  it('a repair treats ERROR_NOT_FOUND and ERROR_FILE_NOT_FOUND as already gone, and reports other codes', async () => {
    const session = await up(split);
    fake.routes.delete('5 10.9.0.0/16 via 192.168.1.1');
    fake.keys.clear();
    fake.force = (line) => (line.startsWith('DeleteIpForwardEntry2 5 203') ? Win32.ACCESS_DENIED : undefined);
    const { repair } = await session.disconnect();
    expect(repair.routesDeleted).toEqual([]);
    expect(repair.dnsRemoved).toEqual([]);
    expect(repair.failures).toEqual([
      'DeleteIpForwardEntry2 203.0.113.10/32 via 192.168.1.1 on LUID 5: Win32 error 5 (ERROR_ACCESS_DENIED)',
    ]);
    // A failed repair keeps the journal for the next recover().
    expect(existsSync(journalPath(dir, process.pid))).toBe(true);
  });
});
