/**
 * Always-On in the engine (docs/always-on.md): the fail-closed block is asked for exactly while
 * Always-On applies on an untrusted network, lets the running tunnel's interface through once
 * one is up, follows ConnectFailurePolicy after a failed connect, and goes on a trusted network
 * and at stop.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { Engine, PORTAL_RECHECK_MS, type PortalCheck, type PortalProbe } from '../src/index.js';
import {
  alwaysOnPolicy,
  FakeDriver,
  FakeFirewall,
  FakeNetwork,
  FakeUsers,
  mgmtProfile,
  TRUSTED,
  UNTRUSTED,
  USER_URL,
} from '@tandem/engine/testing';

const tick = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);
const MGMT_URL = 'https://vpn-mgmt.example.com/machine';

function rig(failure: 'Open' | 'Closed' = 'Closed', network = UNTRUSTED, machine = true) {
  const driver = new FakeDriver();
  const net = new FakeNetwork(network);
  // No signer connected: UntrustedNetworkPolicy Connect has nobody to connect for (user-tnd tests cover it).
  const users = new FakeUsers();
  const firewall = new FakeFirewall();
  const engine = new Engine({
    driver,
    network: net,
    users,
    firewall,
    machineProfile: machine ? mgmtProfile() : null,
    userPolicy: { policy: alwaysOnPolicy(failure), gateways: [USER_URL] },
    random: () => 0,
  });
  return { driver, net, firewall, engine };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('Always-On fail-closed block', () => {
  it('blocks from the start on an untrusted network, then lets the tunnel through once it is up', async () => {
    const r = rig();
    await r.engine.start();
    expect(r.firewall.applied[0]).toEqual({ gateways: [USER_URL, MGMT_URL] });
    await tick(100);
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'machine')?.state).toBe('connected');
    expect(r.firewall.current).toEqual({ gateways: [USER_URL, MGMT_URL], tunnel: 'tun-machine' });
    expect(r.engine.snapshot().alwaysOn).toEqual({ blocking: true, reason: 'Always-On: untrusted network, tunnel up' });
    // The transport dies: TUN and routes stay, and so does the tunnel's hole in the block.
    r.driver.faults = (_k, op) => (op === 'reconnect' ? ErrorCodes.GATEWAY_UNREACHABLE : null);
    r.driver.plane('machine')!.killTransport();
    await tick(5_000);
    expect(r.firewall.current).toEqual({ gateways: [USER_URL, MGMT_URL], tunnel: 'tun-machine' });
  });

  it('hands over to a user tunnel without a moment unblocked', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(200);
    expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('connected');
    expect(r.firewall.applied.every((b) => b !== null)).toBe(true);
    expect(r.firewall.current).toEqual({ gateways: [USER_URL, MGMT_URL], tunnel: 'tun-user' });
  });

  it('lifts the block on a trusted network, and leaves it standing at stop (no gap across a restart)', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    r.net.change(TRUSTED);
    await tick(100);
    expect(r.firewall.current).toBeNull();
    expect(r.engine.snapshot().alwaysOn).toEqual({ blocking: false, reason: 'trusted network' });
    r.net.change(UNTRUSTED);
    await tick(100);
    expect(r.firewall.current).not.toBeNull();
    const applied = r.firewall.applied.length;
    const stopped = r.engine.stop();
    await tick(1000);
    await stopped;
    expect(r.firewall.current).not.toBeNull();
    expect(r.firewall.applied.length).toBe(applied);
  });

  it('ConnectFailurePolicy Closed keeps blocking after a failed connect; Open lifts it until the network changes', async () => {
    for (const failure of ['Closed', 'Open'] as const) {
      const r = rig(failure, UNTRUSTED, false);
      r.driver.faults = (_k, op) => (op === 'authenticate' ? ErrorCodes.AUTH_REJECTED : null);
      await r.engine.start();
      await r.engine.connectUser({ uid: 1000, url: USER_URL });
      await tick(200);
      expect(r.engine.snapshot().tunnels.find((t) => t.kind === 'user')?.state).toBe('error');
      if (failure === 'Closed') {
        expect(r.firewall.current).toEqual({ gateways: [USER_URL] });
      } else {
        expect(r.firewall.current).toBeNull();
        expect(r.engine.snapshot().alwaysOn.reason).toMatch(/ConnectFailurePolicy is Open/);
        r.net.change(TRUSTED);
        await tick(50);
        r.net.change(UNTRUSTED); // a new untrusted network: Always-On blocks again
        await tick(50);
        expect(r.firewall.current).toEqual({ gateways: [USER_URL] });
      }
      await r.engine.stop();
    }
  });

  it('never blocks without Always-On in the user policy', async () => {
    const driver = new FakeDriver();
    const firewall = new FakeFirewall();
    const policy = { ...alwaysOnPolicy(), alwaysOn: { ...alwaysOnPolicy().alwaysOn, enabled: false } };
    const engine = new Engine({
      driver,
      network: new FakeNetwork(UNTRUSTED),
      users: new FakeUsers(),
      firewall,
      machineProfile: mgmtProfile(),
      userPolicy: { policy, gateways: [USER_URL] },
    });
    await engine.start();
    await tick(100);
    expect(firewall.applied.every((b) => b === null)).toBe(true);
    const stopped = engine.stop();
    await tick(1000);
    await stopped;
  });

  it('a captive portal: reported, the block opens to it for the remediation time, closed again after sign-in', async () => {
    let answer: PortalCheck = { state: 'detected', addresses: ['192.0.2.80'] };
    const probe: PortalProbe = { check: async () => answer };
    const driver = new FakeDriver();
    driver.faults = (_k, op) => (op === 'authenticate' ? ErrorCodes.GATEWAY_UNREACHABLE : null);
    const firewall = new FakeFirewall();
    const net = new FakeNetwork(UNTRUSTED);
    // alwaysOnPolicy() allows no remediation; the same policy with a 5-minute window:
    const base = alwaysOnPolicy();
    const policy = {
      ...base,
      alwaysOn: { ...base.alwaysOn, allowCaptivePortalRemediation: true, captivePortalRemediationTimeout: 5 },
    };
    const engine = new Engine({
      driver,
      network: net,
      users: new FakeUsers(),
      firewall,
      portal: probe,
      machineProfile: mgmtProfile(),
      userPolicy: { policy, gateways: [USER_URL] },
      random: () => 0,
    });
    await engine.start();
    await tick(50);
    expect(engine.snapshot().portal).toBe('detected');
    expect(firewall.current).toEqual({ gateways: [USER_URL, MGMT_URL], portal: { addresses: ['192.0.2.80'] } });
    // Still there at every recheck, but the window is the profile's: 5 minutes from the first sight.
    await tick(5 * 60_000 + 1);
    expect(engine.snapshot().portal).toBe('detected');
    expect(firewall.current).toEqual({ gateways: [USER_URL, MGMT_URL] });
    // The user signed in: the next recheck finds no portal.
    answer = { state: 'none' };
    await tick(PORTAL_RECHECK_MS);
    expect(engine.snapshot().portal).toBe('none');
    const stopped = engine.stop();
    await tick(1000);
    await stopped;
  });
});
