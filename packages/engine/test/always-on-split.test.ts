/**
 * Always-On beside a tunnel's split policy and the rest of the AlwaysOn profile element
 * (docs/always-on.md): what passes outside an open tunnel, AllowedHosts, AllowVPNDisconnect and
 * ApplyLastVPNLocalResourceRules.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { decideBlock, Engine, localRules, type AlwaysOnInputs, type SplitRouting } from '../src/index.js';
import {
  alwaysOnPolicy,
  FakeDriver,
  FakeFirewall,
  FakeNetwork,
  FakeUsers,
  mgmtProfile,
  UNTRUSTED,
  USER_URL,
} from '@tandem/engine/testing';

const tick = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);
const MGMT_URL = 'https://vpn-mgmt.example.com/machine';
const GATEWAYS = [USER_URL, MGMT_URL];

/** Stops an engine on fake time: closing its tunnels takes the fake driver's delays. */
async function stop(engine: Engine): Promise<void> {
  const stopped = engine.stop();
  await tick(1000);
  await stopped;
}

/** A split-include tunnel: 10/8 in, 10.1/16 carved out, local LAN allowed on IPv4; IPv6 full. */
const SPLIT: SplitRouting = {
  ipv4: { include: ['10.0.0.0/8'], exclude: ['10.1.0.0/16'], localLan: true },
  ipv6: { include: [], exclude: [], localLan: false },
};

function inputs(over: Partial<AlwaysOnInputs> = {}): AlwaysOnInputs {
  return {
    serviceEnabled: true,
    policy: alwaysOnPolicy(),
    verdict: 'untrusted',
    failedOpen: false,
    gateways: [USER_URL],
    tunnel: null,
    portal: null,
    ...over,
  };
}

function rig(policy = alwaysOnPolicy(), split: SplitRouting = SPLIT) {
  const driver = new FakeDriver();
  driver.split = { machine: split, user: split };
  const net = new FakeNetwork(UNTRUSTED);
  const firewall = new FakeFirewall();
  const engine = new Engine({
    driver,
    network: net,
    users: new FakeUsers(),
    firewall,
    machineProfile: mgmtProfile(),
    userPolicy: { policy, gateways: [USER_URL] },
    random: () => 0,
  });
  return { driver, net, firewall, engine };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('decideBlock with a split policy', () => {
  it('lets an open tunnel’s outside destinations through, only for families with something to pass', () => {
    const d = decideBlock(inputs({ tunnel: 'tun0', split: SPLIT }));
    expect(d.block).toEqual({ gateways: [USER_URL], tunnel: 'tun0', outside: { ipv4: SPLIT.ipv4 } });
  });

  it('a full tunnel without exclusions is today’s block; its exclusions pass', () => {
    const full: SplitRouting = { ipv4: { include: [], exclude: [], localLan: false } };
    expect(decideBlock(inputs({ tunnel: 'tun0', split: full })).block).toEqual({
      gateways: [USER_URL],
      tunnel: 'tun0',
    });
    const excl: SplitRouting = { ipv6: { include: [], exclude: ['2001:db8::/32'], localLan: false } };
    expect(decideBlock(inputs({ tunnel: 'tun0', split: excl })).block?.outside).toEqual(excl);
  });

  it('with no tunnel open, nothing outside passes unless ApplyLastVPNLocalResourceRules', () => {
    const lastLocal = localRules(SPLIT);
    expect(lastLocal).toEqual({ ipv4: { include: [], exclude: ['10.1.0.0/16'], localLan: true } });
    expect(decideBlock(inputs({ lastLocal })).block).toEqual({ gateways: [USER_URL] });
    const keep = alwaysOnPolicy('Closed', {
      failurePolicy: '<ApplyLastVPNLocalResourceRules>true</ApplyLastVPNLocalResourceRules>',
    });
    expect(decideBlock(inputs({ policy: keep, lastLocal })).block).toEqual({
      gateways: [USER_URL],
      outside: lastLocal,
    });
  });

  it('AllowedHosts are in every block', () => {
    const policy = alwaysOnPolicy('Closed', {
      alwaysOn: '<AllowedHosts>remedy.example.com, 192.0.2.7,198.51.100.0/24</AllowedHosts>',
    });
    const hosts = ['remedy.example.com', '192.0.2.7', '198.51.100.0/24'];
    expect(decideBlock(inputs({ policy })).block?.allowedHosts).toEqual(hosts);
    expect(decideBlock(inputs({ policy, tunnel: 'tun0' })).block?.allowedHosts).toEqual(hosts);
    expect(decideBlock(inputs({ policy, verdict: 'trusted' })).block).toBeNull();
  });
});

describe('Always-On in the engine with a split tunnel', () => {
  it('the open tunnel’s split policy reaches the block, and goes when the tunnel fails', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    expect(r.firewall.current).toEqual({ gateways: GATEWAYS, tunnel: 'tun-machine', outside: { ipv4: SPLIT.ipv4 } });
    r.driver.faults = (_k, op) => (op === 'open' || op === 'authenticate' ? ErrorCodes.GATEWAY_UNREACHABLE : null);
    r.driver.plane('machine')!.tunFailure();
    await tick(200);
    expect(r.firewall.current).toEqual({ gateways: GATEWAYS });
    await stop(r.engine);
  });

  it('ApplyLastVPNLocalResourceRules keeps the last tunnel’s exclusions and local LAN once it is gone', async () => {
    const policy = alwaysOnPolicy('Closed', {
      failurePolicy: '<ApplyLastVPNLocalResourceRules>true</ApplyLastVPNLocalResourceRules>',
    });
    const r = rig(policy);
    await r.engine.start();
    expect(r.firewall.current).toEqual({ gateways: GATEWAYS }); // no tunnel was open yet
    await tick(100);
    r.driver.faults = (_k, op) => (op === 'open' || op === 'authenticate' ? ErrorCodes.GATEWAY_UNREACHABLE : null);
    r.driver.plane('machine')!.tunFailure();
    await tick(200);
    expect(r.firewall.current).toEqual({ gateways: GATEWAYS, outside: localRules(SPLIT) });
    await stop(r.engine);
  });

  it('a block with the local LAN is made again after a network change; one without is not', async () => {
    for (const split of [SPLIT, { ipv4: { include: ['10.0.0.0/8'], exclude: [], localLan: false } }]) {
      const r = rig(alwaysOnPolicy(), split);
      await r.engine.start();
      await tick(100);
      const before = r.firewall.applied.length;
      r.net.change({ ...UNTRUSTED, dnsServers: ['198.51.100.2'] });
      await tick(50);
      expect(r.firewall.applied.length - before).toBe(split === SPLIT ? 1 : 0);
      expect(r.firewall.current?.outside).toEqual(split === SPLIT ? { ipv4: SPLIT.ipv4 } : split);
      await stop(r.engine);
    }
  });
});

describe('AllowVPNDisconnect', () => {
  async function connectedUser(policy = alwaysOnPolicy()) {
    const r = rig(policy);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(200);
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('connected');
    return r;
  }
  const locked = alwaysOnPolicy('Closed', { alwaysOn: '<AllowVPNDisconnect>false</AllowVPNDisconnect>' });

  it('false: the owner’s disconnect is refused with E_PERMISSION under Always-On; an administrator’s is not', async () => {
    const r = await connectedUser(locked);
    const err = await r.engine.disconnectUser({ uid: 1000 }).catch((e: unknown) => e);
    expect(isTandemError(err, ErrorCodes.PERMISSION)).toBe(true);
    expect(isTandemError(err) && err.details).toEqual({ reason: 'AllowVPNDisconnect' });
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('connected');
    const done = r.engine.disconnectUser({ uid: 0, admin: true });
    await tick(200);
    await done;
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('idle');
    expect(r.firewall.current).not.toBeNull();
    await stop(r.engine);
  });

  it('false does not hold a user tunnel where Always-On does not apply (trust unknown)', async () => {
    const r = await connectedUser(locked);
    r.net.change(null); // no usable network: trust unknown, Always-On asks for nothing
    await tick(50);
    expect(r.firewall.current).toBeNull();
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(200);
    await done;
    await stop(r.engine);
  });

  it('true (the default): the owner disconnects and the block stays', async () => {
    const r = await connectedUser();
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(200);
    await done;
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('idle');
    expect(r.firewall.current).toMatchObject({ gateways: GATEWAYS });
    await stop(r.engine);
  });
});
