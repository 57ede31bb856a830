/**
 * The Windows backend's handling of each documented failure code, through the recorded fake:
 * "already exists" is "present" (and someone else's route stays someone else's), an access
 * denial or a missing API is a typed E_NETCONFIG naming the call and the number, and a failed
 * connect is repaired from its journal before the error reaches the caller. Also the gateway
 * route's re-pinning after an uplink change, and journals this backend must refuse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import {
  emptyHostSnapshot,
  journalPath,
  NetworkSession,
  readJournal,
  validateNetworkConfig,
  type HostNetwork,
  type JournalRecord,
} from '@tandem/tunnel';
import { windowsHostNetwork } from '../src/host-network-windows.js';
import { Win32 } from '../src/win32-error-windows.js';
import { counterKeys, FakeWindows } from './fake-windows.js';

const config = validateNetworkConfig({
  gateway: '203.0.113.10',
  ipv4: { address: '10.8.0.2', prefix: 24 },
  dns: ['10.8.0.53'],
  splitDns: ['corp.example'],
  splitInclude: ['10.0.0.0/8'],
  mtu: 1406,
});

let dir = '';
let fake: FakeWindows;
let backend: HostNetwork;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttn-hostnet-winerr-'));
  fake = new FakeWindows();
  backend = windowsHostNetwork(() => ({ ipHelper: fake, nrpt: fake }), counterKeys());
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const forceOn = (prefix: string, status: number) => (line: string) => (line.startsWith(prefix) ? status : undefined);

async function begin(): Promise<NetworkSession> {
  fake.journal = { dir, pid: process.pid };
  return NetworkSession.begin({ configurator: backend.configurator(), host: backend, config, journalDir: dir });
}

async function connectError(): Promise<unknown> {
  const session = await begin();
  return session.connect('tandem0').then(
    () => null,
    (err: unknown) => err,
  );
}

describe('documented failure codes', () => {
  it('ERROR_OBJECT_ALREADY_EXISTS on an address or a tunnel route: present, the connect goes on', async () => {
    fake.force = (l) =>
      l.startsWith('CreateUnicastIpAddressEntry') || l.startsWith('CreateIpForwardEntry2 77')
        ? Win32.OBJECT_ALREADY_EXISTS
        : undefined;
    const session = await begin();
    await session.connect('tandem0');
    expect(session.record.phase).toBe('connected');
  });

  it("ERROR_OBJECT_ALREADY_EXISTS on the host route: someone else's, dropped from the journal and left at the close", async () => {
    fake.routes.add('5 203.0.113.10/32 via 192.168.1.1');
    const session = await begin();
    const step = await session.connect('tandem0');
    expect(step.output).toContain('already present, not ours: 203.0.113.10/32');
    expect(readJournal(journalPath(dir, process.pid))?.host?.routes).toEqual([]);
    fake.calls.length = 0;
    await session.disconnect();
    expect(fake.calls.some((c) => c.startsWith('DeleteIpForwardEntry2'))).toBe(false);
    expect(fake.routes.has('5 203.0.113.10/32 via 192.168.1.1')).toBe(true);
  });

  it('ERROR_ACCESS_DENIED on a route: E_NETCONFIG naming the call and the number; the journal repairs what was added', async () => {
    fake.force = forceOn('CreateIpForwardEntry2 77 10.0.0.0/8', Win32.ACCESS_DENIED);
    const err = await connectError();
    expect(isTandemError(err, 'E_NETCONFIG')).toBe(true);
    expect((err as Error).message).toBe('CreateIpForwardEntry2 10.0.0.0/8: Win32 error 5 (ERROR_ACCESS_DENIED)');
    expect(fake.calls).toContain('DeleteIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1');
    expect(fake.routes.has('5 203.0.113.10/32 via 192.168.1.1')).toBe(false);
  });

  it('SetInterfaceDnsSettings missing (before Windows 10 2004): E_NETCONFIG saying so', async () => {
    fake.force = forceOn('SetInterfaceDnsSettings', Win32.PROC_NOT_FOUND);
    const err = await connectError();
    expect((err as Error).message).toMatch(/SetInterfaceDnsSettings is missing: Windows 10 2004/);
  });

  it('an unknown adapter alias (ERROR_INVALID_PARAMETER) and no route to the gateway are typed too', async () => {
    fake.force = forceOn('ConvertInterfaceAliasToLuid', Win32.INVALID_PARAMETER);
    expect((await connectError()) as Error).toMatchObject({
      code: 'E_NETCONFIG',
      message: 'ConvertInterfaceAliasToLuid tandem0: Win32 error 87 (ERROR_INVALID_PARAMETER)',
    });
    fake.force = forceOn('GetBestRoute2', Win32.NETWORK_UNREACHABLE);
    expect(((await connectError()) as Error).message).toBe(
      'GetBestRoute2 203.0.113.10: Win32 error 1231 (ERROR_NETWORK_UNREACHABLE)',
    );
  });

  it('ERROR_ACCESS_DENIED creating an NRPT key: typed; the repair finds the journaled key absent and is complete', async () => {
    fake.force = forceOn('RegCreateKeyExW DnsPolicyConfig\\{', Win32.ACCESS_DENIED);
    const session = await begin();
    const err = await session.connect('tandem0').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^RegCreateKeyExW .*DnsPolicyConfig\\\{00000000-0000-0000-0000-000000000001\}: Win32 error 5 /,
    );
    expect(fake.calls).toContain('RegDeleteKeyExW DnsPolicyConfig\\{00000000-0000-0000-0000-000000000001}');
    expect(fake.calls.filter((c) => c.startsWith('!!'))).toEqual([]);
  });

  it('a failed policy refresh is noted, not fatal: the DNS client rereads its local rules itself', async () => {
    fake.force = forceOn('RefreshPolicyEx', Win32.ACCESS_DENIED);
    const session = await begin();
    expect((await session.connect('tandem0')).output).toContain('RefreshPolicyEx machine: Win32 error 5');
    const { repair } = await session.disconnect();
    expect(repair.failures).toEqual([]);
    expect(repair.skipped).toEqual(['RefreshPolicyEx machine: Win32 error 5 (ERROR_ACCESS_DENIED)']);
  });
});

describe('reconnect and journals', () => {
  it('re-pins the gateway route on the new uplink: journaled before it is added, the old one dropped', async () => {
    const session = await begin();
    await session.connect('tandem0');
    fake.routes.delete('5 203.0.113.10/32 via 192.168.1.1'); // the Wi-Fi went away with its routes
    fake.physical = { luid: 6n, router: '10.0.0.1', router6: 'fe80::2' };
    fake.calls.length = 0;
    await session.attemptReconnect();
    expect(fake.calls).toEqual([
      'GetBestRoute2 203.0.113.10 on 5',
      'GetBestRoute2 203.0.113.10',
      'CreateIpForwardEntry2 6 203.0.113.10/32 via 10.0.0.1',
      'DeleteIpForwardEntry2 5 203.0.113.10/32 via 192.168.1.1',
    ]);
    expect(session.record.host?.routes.map((r) => `${r.interface} ${r.nextHop}`)).toEqual(['6 10.0.0.1']);
  });

  it('refuses to change the host without a journal', async () => {
    const cfg = backend.configurator();
    await expect(cfg.connect(config, { ownerPid: 1, tunDevice: 'tandem0' })).rejects.toThrow(/only with a journal/);
    expect(fake.calls).toEqual([]);
  });

  it('refuses journaled values it did not write, and journals of another platform', async () => {
    const record: JournalRecord = {
      version: 1,
      owner: { pid: 1, startTicks: null },
      createdAt: new Date().toISOString(),
      phase: 'connected',
      before: emptyHostSnapshot(),
      intended: { gateway: '203.0.113.10', routes4: [], routes6: [], dns: [], domains: [] },
      vpncStateDir: '',
      host: {
        platform: 'win32',
        tunnel: '77',
        routes: [{ family: 4, destination: '10.0.0.0/8; rm', nextHop: '192.168.1.1', interface: '5' }],
        dnsKeys: ['..\\Parameters'],
      },
    };
    const report = await backend.repair(record);
    expect(report.failures).toHaveLength(2);
    expect(fake.calls).toEqual([]);
    const mac = await backend.repair({
      ...record,
      host: { platform: 'darwin', tunnel: 'utun4', routes: [], dnsKeys: [] },
    });
    expect(mac.failures).toEqual(['a darwin journal cannot be repaired on Windows']);
  });
});
