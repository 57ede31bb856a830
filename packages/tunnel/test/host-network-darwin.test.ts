/**
 * The macOS routes-and-DNS backend driven through a recorded fake of route, ifconfig and scutil
 * (fake-darwin.ts): the exact commands of a full and a split tunnel in order (scutil's stdin
 * included), a disconnect that removes exactly what was added outside the utun interface, a
 * crash whose journal recover() replays, each failure ("File exists", "not in table", exit 1 with
 * its stderr), and the gateway route's re-pinning. The real commands run in platforms.yml.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import {
  journalPath,
  NetworkSession,
  readJournal,
  recover,
  validateNetworkConfig,
  type HostNetwork,
} from '@tandem/tunnel';
import { darwinHostNetwork } from '../src/host-network-darwin.js';
import { FakeMac } from './fake-darwin.js';

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
const SVC = 'State:/Network/Service/tandem-utun4';

let dir = '';
let fake: FakeMac;
let backend: HostNetwork;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttn-hostnet-mac-'));
  fake = new FakeMac();
  backend = darwinHostNetwork(() => fake);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function begin(config = full, ownerPid = process.pid): Promise<NetworkSession> {
  fake.journal = { dir, pid: ownerPid };
  return NetworkSession.begin({
    configurator: backend.configurator(),
    host: backend,
    config,
    journalDir: dir,
    ownerPid,
  });
}
async function up(config = full, ownerPid = process.pid): Promise<NetworkSession> {
  const session = await begin(config, ownerPid);
  await session.connect('utun4');
  return session;
}
const fail = (stderr: string) => ({ code: 1, stdout: '', stderr });

describe('macOS bring-up', () => {
  it('full tunnel: host route first, the 0/1 + 128/1 pair, a primary DNS service', async () => {
    await up();
    expect(fake.calls).toEqual([
      'route -n get 203.0.113.10',
      'ifconfig utun4 inet 10.8.0.2 10.8.0.2 netmask 255.255.255.255 mtu 1406 up',
      'route -n add -net 10.8.0.0/24 -interface utun4',
      'route -n add -host 203.0.113.10 192.168.1.1',
      'route -n add -net 0.0.0.0/1 -interface utun4',
      'route -n add -net 128.0.0.0/1 -interface utun4',
      `scutil open | d.init | d.add Addresses * 10.8.0.2 | d.add SubnetMasks * 255.255.255.255 | d.add InterfaceName utun4 | d.add Router 10.8.0.2 | d.add OverridePrimary # 1 | set ${SVC}/IPv4 | d.init | d.add ServerAddresses * 10.8.0.53 | d.add DomainName corp.example | d.add SearchDomains * corp.example | set ${SVC}/DNS | quit`,
    ]);
  });

  it('split tunnel: excludes via the default router, includes on utun, supplemental match domains', async () => {
    await up(split);
    expect(fake.calls).toEqual([
      'route -n get 203.0.113.10',
      'route -n get default',
      'ifconfig utun4 inet 10.8.0.2 10.8.0.2 netmask 255.255.255.255 mtu 1406 up',
      'ifconfig utun4 inet6 fd00::2 prefixlen 64',
      'route -n add -net 10.8.0.0/24 -interface utun4',
      'route -n add -host 203.0.113.10 192.168.1.1',
      'route -n add -net 10.9.0.0/16 192.168.1.1',
      'route -n add -net 10.0.0.0/8 -interface utun4',
      'route -n add -inet6 -net fd00:1::/48 -interface utun4',
      `scutil open | d.init | d.add Addresses * 10.8.0.2 | d.add SubnetMasks * 255.255.255.255 | d.add InterfaceName utun4 | set ${SVC}/IPv4 | d.init | d.add Addresses * fd00::2 | d.add PrefixLength * 64 | d.add InterfaceName utun4 | set ${SVC}/IPv6 | d.init | d.add ServerAddresses * 10.8.0.53 fd00::53 | d.add DomainName corp.example | d.add SearchDomains * corp.example | d.add SupplementalMatchDomains * corp.example lab.example | set ${SVC}/DNS | quit`,
    ]);
    expect(readJournal(journalPath(dir, process.pid))?.host).toEqual({
      platform: 'darwin',
      tunnel: 'utun4',
      routes: [
        { family: 4, destination: '203.0.113.10/32', nextHop: '192.168.1.1', interface: 'en0' },
        { family: 4, destination: '10.9.0.0/16', nextHop: '192.168.1.1', interface: 'en0' },
      ],
      dnsKeys: [`${SVC}/IPv4`, `${SVC}/IPv6`, `${SVC}/DNS`],
    });
  });
});

describe('macOS close and crash', () => {
  it('disconnect removes exactly the routes outside utun and our keys, then the journal', async () => {
    const session = await up(split);
    fake.calls.length = 0;
    const { repair } = await session.disconnect();
    expect(fake.calls).toEqual([
      'route -n delete -host 203.0.113.10 192.168.1.1',
      'route -n delete -net 10.9.0.0/16 192.168.1.1',
      `scutil open | remove ${SVC}/IPv4 | remove ${SVC}/IPv6 | remove ${SVC}/DNS | quit`,
    ]);
    expect(repair.failures).toEqual([]);
    expect(fake.keys.size).toBe(0);
    fake.removeInterface('utun4');
    expect(fake.routes.size).toBe(0);
    expect(existsSync(journalPath(dir, process.pid))).toBe(false);
  });

  it('a crash leaves the journal; recover() removes what it lists', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    await up(full, dead);
    fake.removeInterface('utun4');
    fake.calls.length = 0;
    const report = await recover(dir, { host: backend });
    expect(report.journals.map((j) => j.outcome)).toEqual(['restored']);
    expect(fake.calls).toEqual([
      'route -n delete -host 203.0.113.10 192.168.1.1',
      `scutil open | remove ${SVC}/IPv4 | remove ${SVC}/DNS | quit`,
    ]);
    expect(fake.routes.size + fake.keys.size).toBe(0);
    expect((await recover(dir, { host: backend })).journals).toEqual([]);
  });
});

describe('macOS failures', () => {
  it('route exit 1: E_NETCONFIG with the command and its stderr; the journal repairs what was added', async () => {
    fake.force = (l) =>
      l.endsWith('10.0.0.0/8 -interface utun4')
        ? fail('route: writing to routing socket: Network is unreachable\n')
        : undefined;
    const session = await begin(split);
    const err = await session.connect('utun4').catch((e: unknown) => e);
    expect(isTandemError(err, 'E_NETCONFIG')).toBe(true);
    expect((err as Error).message).toBe(
      '/sbin/route -n add -net 10.0.0.0/8 -interface utun4 exited 1: route: writing to routing socket: Network is unreachable',
    );
    expect(fake.calls).toContain('route -n delete -host 203.0.113.10 192.168.1.1');
    expect([...fake.routes].filter((r) => !r.includes('utun4'))).toEqual([]);
  });

  it('"File exists" on the host route: someone else\'s, kept out of the journal and left at the close', async () => {
    fake.routes.add('-host 203.0.113.10 192.168.1.1');
    const session = await up();
    expect(readJournal(journalPath(dir, process.pid))?.host?.routes).toEqual([]);
    fake.calls.length = 0;
    const { repair } = await session.disconnect();
    expect(fake.calls.filter((c) => c.startsWith('route'))).toEqual([]);
    expect(repair.failures).toEqual([]);
    expect(fake.routes.has('-host 203.0.113.10 192.168.1.1')).toBe(true);
  });

  it('"not in table" at the close is already gone; another exit is a reported failure that keeps the journal', async () => {
    const session = await up(split);
    fake.routes.delete('-host 203.0.113.10 192.168.1.1');
    fake.force = (l) =>
      l.includes('delete -net 10.9.0.0/16')
        ? fail('route: writing to routing socket: Operation not permitted\n')
        : undefined;
    const { repair } = await session.disconnect();
    expect(repair.failures).toEqual([
      '/sbin/route -n delete -net 10.9.0.0/16 192.168.1.1 exited 1: route: writing to routing socket: Operation not permitted',
    ]);
    expect(existsSync(journalPath(dir, process.pid))).toBe(true);
  });

  it('scutil and route get failures are typed; a gateway reached only through utun is refused', async () => {
    fake.force = (l) =>
      l.startsWith('scutil') ? { code: 1, stdout: '', stderr: 'scutil: permission denied\n' } : undefined;
    expect(((await (await begin()).connect('utun4').catch((e: unknown) => e)) as Error).message).toBe(
      '/usr/sbin/scutil exited 1: scutil: permission denied',
    );
    fake.force = (l) =>
      l.startsWith('route -n get') ? fail('route: writing to routing socket: not in table\n') : undefined;
    expect(((await (await begin()).connect('utun4').catch((e: unknown) => e)) as Error).message).toBe(
      '/sbin/route -n get 203.0.113.10 exited 1: route: writing to routing socket: not in table',
    );
    fake.force = () => undefined;
    fake.physical = { interface: 'utun4', router: '' };
    expect(((await (await begin()).connect('utun4').catch((e: unknown) => e)) as Error).message).toMatch(
      /the only route to the gateway is the tunnel/,
    );
  });

  it('re-pins the gateway route on a new uplink, journal first', async () => {
    const session = await up();
    fake.routes.delete('-host 203.0.113.10 192.168.1.1');
    fake.physical = { interface: 'en1', router: '10.0.0.1' };
    fake.calls.length = 0;
    await session.attemptReconnect();
    expect(fake.calls).toEqual([
      'route -n get -ifscope en0 203.0.113.10',
      'route -n get 203.0.113.10',
      'route -n add -host 203.0.113.10 10.0.0.1',
      'route -n delete -host 203.0.113.10 192.168.1.1',
    ]);
    expect(session.record.host?.routes).toEqual([
      { family: 4, destination: '203.0.113.10/32', nextHop: '10.0.0.1', interface: 'en1' },
    ]);
  });
});
