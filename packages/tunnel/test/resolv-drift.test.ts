/**
 * resolv.conf written under a running tunnel (resolv-drift.ts, NetworkSession.followResolvConf):
 * a DHCP-style rewrite becomes the journal's pre-tunnel copy and the tunnel's DNS goes back; a
 * resolver manager's merge is kept; a restored pre-tunnel copy is undone; a program that keeps
 * rewriting wins after the limit; the close restores the newest physical file. The configurator
 * is a fake that writes resolv.conf the way vpnc-script's plain-file mode does, in a temp file.
 * Also the route-line helpers the repair uses to skip routes of an address that is gone.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  captureHostSnapshot,
  classifyResolvConf,
  journalPath,
  NetworkSession,
  parseAddresses,
  physicalDns,
  readJournal,
  REAPPLY_LIMIT,
  routeSource,
  snapshotResolvConf,
  validateNetworkConfig,
  type JournalRecord,
  type NetworkConfigurator,
  type StepResult,
} from '@tandem/tunnel';

let tmp = '';
let resolv = '';
let journalDir = '';
let vpncDir = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ttn-drift-'));
  resolv = join(tmp, 'resolv.conf');
  journalDir = join(tmp, 'j');
  vpncDir = join(tmp, 'vpnc');
  mkdirSync(vpncDir);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const HOME = 'search home.example\nnameserver 192.168.1.1\n';
const TUNNEL = '#@VPNC_GENERATED@\nnameserver 10.8.0.53\nsearch corp.example home.example\n';
const HOTEL = 'search hotel.example\nnameserver 172.16.9.1\n';

/** A configurator that writes the tunnel's resolv.conf on connect when `writesDns`. */
function fakeConfigurator(writesDns: boolean): NetworkConfigurator {
  const step = (reason: StepResult['reason']) => async (): Promise<StepResult> => ({ reason, ms: 0, output: '' });
  return {
    kind: 'fake',
    preInit: step('pre-init'),
    connect: async () => {
      if (writesDns) writeFileSync(resolv, TUNNEL);
      return step('connect')();
    },
    disconnect: step('disconnect'),
    attemptReconnect: step('attempt-reconnect'),
    reconnect: step('reconnect'),
  };
}

async function connected(writesDns = true): Promise<NetworkSession> {
  writeFileSync(resolv, HOME);
  const session = await NetworkSession.begin({
    configurator: fakeConfigurator(writesDns),
    journalDir,
    resolvConf: resolv,
    vpncStateDir: vpncDir,
    snapshot: captureHostSnapshot(resolv),
    config: validateNetworkConfig({
      gateway: '192.0.2.1',
      ipv4: { address: '10.8.0.7' },
      mtu: 1400,
      dns: ['10.8.0.53'],
    }),
  });
  // A TUN name that exists nowhere: the repair finds no route of ours to delete.
  await session.connect('tdrift0');
  return session;
}

const journal = (): JournalRecord => readJournal(journalPath(journalDir, process.pid))!;
const beforeText = (): string => Buffer.from(journal().before.resolvConf.contentBase64 ?? '', 'base64').toString();

describe('resolv.conf written under a running tunnel', () => {
  it('a DHCP rewrite becomes the physical DNS, the tunnel DNS goes back, the close restores the new file', async () => {
    const session = await connected();
    writeFileSync(join(vpncDir, `resolv.conf-backup.${process.pid}`), HOME);
    writeFileSync(resolv, HOTEL);
    expect(physicalDns(journalDir, resolv)).toEqual({ dnsDomains: ['hotel.example'], dnsServers: ['172.16.9.1'] });

    expect(session.followResolvConf()).toEqual({ drift: 'physical', adopted: true, reapplied: true, contested: false });
    expect(readFileSync(resolv, 'utf8')).toBe(TUNNEL);
    expect(beforeText()).toBe(HOTEL);
    expect(readFileSync(join(vpncDir, `resolv.conf-backup.${process.pid}`), 'utf8')).toBe(HOTEL);
    // TND still sees the hotel, now through the journal.
    expect(physicalDns(journalDir, resolv)).toEqual({ dnsDomains: ['hotel.example'], dnsServers: ['172.16.9.1'] });
    expect(session.followResolvConf().drift).toBe('unchanged');

    const report = await session.disconnect();
    expect(report.repair.failures).toEqual([]);
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
  });

  it('a write not yet followed is still what the close restores', async () => {
    const session = await connected();
    writeFileSync(resolv, HOTEL);
    await session.disconnect();
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
  });

  it("a resolver manager's merge that keeps the tunnel resolver is left alone and becomes the tunnel's file", async () => {
    const session = await connected();
    const merged = 'nameserver 10.8.0.53\nnameserver 192.168.1.1\nsearch corp.example\n';
    writeFileSync(resolv, merged);
    expect(session.followResolvConf()).toEqual({ drift: 'merged', adopted: false, reapplied: false, contested: false });
    expect(readFileSync(resolv, 'utf8')).toBe(merged);
    expect(beforeText()).toBe(HOME);
    expect(physicalDns(journalDir, resolv)?.dnsServers).toEqual(['192.168.1.1']);
    await session.disconnect();
    expect(readFileSync(resolv, 'utf8')).toBe(HOME);
  });

  it('a restored pre-tunnel copy is undone without touching the physical copy', async () => {
    const session = await connected();
    writeFileSync(resolv, HOME);
    expect(session.followResolvConf()).toMatchObject({ drift: 'reverted', adopted: false, reapplied: true });
    expect(readFileSync(resolv, 'utf8')).toBe(TUNNEL);
    await session.disconnect();
  });

  it('gives way to a program that keeps rewriting, but keeps following its physical DNS', async () => {
    const session = await connected();
    for (let i = 0; i < REAPPLY_LIMIT; i++) {
      writeFileSync(resolv, `nameserver 172.16.9.${i + 1}\n`);
      expect(session.followResolvConf()).toMatchObject({ drift: 'physical', reapplied: true, contested: false });
    }
    writeFileSync(resolv, HOTEL);
    expect(session.followResolvConf()).toEqual({ drift: 'physical', adopted: true, reapplied: false, contested: true });
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
    expect(beforeText()).toBe(HOTEL);
    await session.disconnect();
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
  });

  it('a tunnel that keeps no DNS in the file only follows the physical network', async () => {
    const session = await connected(false);
    writeFileSync(resolv, HOTEL);
    expect(session.followResolvConf()).toEqual({
      drift: 'physical',
      adopted: true,
      reapplied: false,
      contested: false,
    });
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
    expect(session.followResolvConf().drift).toBe('unchanged');
    await session.disconnect();
    expect(readFileSync(resolv, 'utf8')).toBe(HOTEL);
  });
});

describe('classifyResolvConf', () => {
  it('judges nothing before the tunnel configured the file', () => {
    writeFileSync(resolv, HOME);
    const before = snapshotResolvConf(resolv);
    const record: JournalRecord = {
      version: 1,
      owner: { pid: 1, startTicks: null },
      createdAt: new Date().toISOString(),
      phase: 'connecting',
      before: { routes4: [], routes6: [], rules4: [], rules6: [], resolvConf: before },
      intended: { gateway: '192.0.2.1', routes4: [], routes6: [], dns: ['10.8.0.53'], domains: [] },
      vpncStateDir: vpncDir,
    };
    writeFileSync(resolv, HOTEL);
    expect(classifyResolvConf(record, snapshotResolvConf(resolv))).toBe('unchanged');
  });
});

describe('route lines after a renumbering', () => {
  it('finds the source address a route needs and the addresses the host has', () => {
    expect(routeSource('10.239.9.0/24 dev cpth-vc proto kernel scope link src 10.239.9.2')).toBe('10.239.9.2');
    expect(routeSource('default via 10.239.9.1 dev cpth-vc')).toBeUndefined();
    const out =
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n' +
      '2: eth0    inet 10.239.9.7/24 scope global eth0\\       valid_lft forever\n' +
      '2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n';
    expect(parseAddresses(out)).toEqual(['127.0.0.1', '10.239.9.7', 'fe80::1']);
  });
});
