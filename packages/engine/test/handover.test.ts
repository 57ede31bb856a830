/**
 * Engine scenarios on fake time: machine tunnel at boot, TND, handover to the user tunnel and
 * back, busy/queue semantics, ownership, shutdown. Every test also checks that the fake
 * driver saw no invariant violation.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { Engine, type EngineEvent, type EngineSnapshot, type HandoverEvent } from '../src/index.js';
import { FakeDriver, FakeNetwork, FakeUsers, mgmtProfile, TRUSTED, UNTRUSTED, USER_URL } from '@tandem/engine/testing';

interface Rig {
  engine: Engine;
  driver: FakeDriver;
  network: FakeNetwork;
  users: FakeUsers;
  snapshots: EngineSnapshot[];
  events: EngineEvent[];
}

function rig(network = UNTRUSTED, profile = mgmtProfile()): Rig {
  const driver = new FakeDriver();
  const net = new FakeNetwork(network);
  const users = new FakeUsers();
  users.signers.add(1000);
  const engine = new Engine({ driver, network: net, users, machineProfile: profile, random: () => 0 });
  const snapshots: EngineSnapshot[] = [];
  const events: EngineEvent[] = [];
  engine.onSnapshot((s) => snapshots.push(s));
  engine.onEvent((e) => events.push(e));
  return { engine, driver, network: net, users, snapshots, events };
}

const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};
const tunnel = (e: Engine, kind: 'machine' | 'user') => e.snapshot().tunnels.find((t) => t.kind === kind);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('machine tunnel at boot', () => {
  it('comes up on an untrusted network with no user action', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    expect(tunnel(r.engine, 'machine')).toMatchObject({
      state: 'connected',
      gateway: 'https://vpn-mgmt.example.com/machine',
      addresses: ['10.99.0.2'],
    });
    expect(r.engine.snapshot().desired.tunnel).toBe('machine');
    expect(r.engine.networkHolder).toBe('machine');
    expect(r.driver.calls('machine', 'authenticate')[0]?.uid).toBeUndefined();
    expect(r.driver.calls('user', 'authenticate')).toHaveLength(0);
    expect(r.driver.violations).toEqual([]);
  });

  it('stays down on a trusted network (TND matches the DNS domain and server)', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await tick(1000);
    expect(tunnel(r.engine, 'machine')?.state).toBe('idle');
    expect(r.engine.snapshot().tnd.verdict).toBe('trusted');
    expect(r.engine.snapshot().desired.reason).toMatch(/^trusted network/);
    expect(r.driver.log).toEqual([]);
  });

  it('never starts when the management profile has no TND configuration', async () => {
    const r = rig(UNTRUSTED, mgmtProfile({ domains: '', servers: '' }));
    await r.engine.start();
    await tick(1000);
    expect(r.engine.snapshot().desired).toEqual({ tunnel: 'none', reason: 'TND not configured' });
    expect(r.driver.log).toEqual([]);
  });

  it('follows network changes: trusted takes it down, untrusted brings it back', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    r.network.change(TRUSTED);
    await tick(100);
    expect(tunnel(r.engine, 'machine')?.state).toBe('idle');
    expect(r.driver.applied.size).toBe(0);
    r.network.change(UNTRUSTED);
    await tick(100);
    expect(tunnel(r.engine, 'machine')?.state).toBe('connected');
    expect(r.driver.violations).toEqual([]);
  });

  it('admin can disable and re-enable it', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    r.engine.setMachineTunnelEnabled(false);
    await tick(100);
    expect(tunnel(r.engine, 'machine')?.state).toBe('idle');
    expect(r.engine.snapshot()).toMatchObject({
      machineTunnelEnabled: false,
      desired: { tunnel: 'none', reason: 'machine tunnel disabled' },
    });
    r.engine.setMachineTunnelEnabled(true);
    await tick(100);
    expect(tunnel(r.engine, 'machine')?.state).toBe('connected');
  });
});

describe('handover', () => {
  it('machine close() resolves strictly before user authenticate() starts; the gap is reported', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const order = r.driver.log.map((c) => `${c.kind}.${c.op}.${c.phase}`);
    const machineClosed = order.indexOf('machine.close.end');
    const userAuth = order.indexOf('user.authenticate.start');
    expect(machineClosed).toBeGreaterThan(-1);
    expect(userAuth).toBeGreaterThan(machineClosed);
    expect(r.driver.calls('machine', 'close', 'end')[0]!.at).toBeLessThanOrEqual(
      r.driver.calls('user', 'authenticate')[0]!.at,
    );
    expect(tunnel(r.engine, 'user')).toMatchObject({ state: 'connected', ownerUid: 1000, addresses: ['10.10.0.2'] });
    expect(tunnel(r.engine, 'machine')?.state).toBe('idle');
    expect(r.driver.logouts).toEqual(['machine']);
    const handover = r.events.find((e): e is HandoverEvent => e.type === 'handover');
    // The fake driver takes 10 ms per step: user authenticate + open = 20 ms without a tunnel.
    expect(handover).toMatchObject({ from: 'machine', to: 'user', gapMs: 20 });
    console.info(`handover machine→user gap: ${handover?.gapMs} ms of fake time`);
    expect(r.driver.violations).toEqual([]);
  });

  it('disconnectUser brings the machine tunnel back (still untrusted) and reports that gap too', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(100);
    await done;
    expect(tunnel(r.engine, 'user')?.state).toBe('idle');
    expect(tunnel(r.engine, 'machine')?.state).toBe('connected');
    const gaps = r.events.filter((e): e is HandoverEvent => e.type === 'handover');
    expect(gaps.map((g) => `${g.from}->${g.to}:${g.gapMs}`)).toEqual(['machine->user:20', 'user->machine:20']);
    expect(r.driver.violations).toEqual([]);
  });

  it('user disconnect on a trusted network leaves no tunnel', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    expect(tunnel(r.engine, 'user')?.state).toBe('connected');
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(100);
    await done;
    expect(r.engine.snapshot().tunnels.map((t) => t.state)).toEqual(['idle', 'idle']);
    expect(r.driver.applied.size).toBe(0);
  });

  it('connect while the machine tunnel is authenticating: user intent queued, machine bring-up cancelled', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(5); // machine authenticate in flight (takes 10 ms)
    expect(tunnel(r.engine, 'machine')?.state).toBe('authenticating');
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    expect(r.driver.calls('machine', 'open')).toHaveLength(0);
    expect(tunnel(r.engine, 'user')?.state).toBe('connected');
    expect(r.driver.violations).toEqual([]);
  });

  it('connect while the machine tunnel is opening: waits for open() to settle and close() to resolve', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(15); // authenticate done at 10 ms, open in flight until 20 ms
    expect(tunnel(r.engine, 'machine')?.state).toBe('connecting');
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    expect(tunnel(r.engine, 'user')?.state).toBe('idle'); // queued
    await tick(100);
    const order = r.driver.log.map((c) => `${c.kind}.${c.op}.${c.phase}`);
    expect(order.indexOf('user.authenticate.start')).toBeGreaterThan(order.indexOf('machine.close.end'));
    expect(tunnel(r.engine, 'user')?.state).toBe('connected');
    expect(r.driver.violations).toEqual([]);
  });
});

describe('busy and queue semantics', () => {
  it('a second connect while the user tunnel is connecting is E_BUSY_IN_TRANSITION', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(5);
    await expect(r.engine.connectUser({ uid: 1000, url: USER_URL })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    await expect(r.engine.connectUser({ uid: 1001, url: USER_URL })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
  });

  it('a connect queued behind the machine teardown is itself busy for a second caller', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await expect(r.engine.connectUser({ uid: 1001, url: USER_URL })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
  });

  it('the same user connecting to the same gateway while connected is a no-op; another target is busy', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const calls = r.driver.log.length;
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    expect(r.driver.log.length).toBe(calls);
    await expect(r.engine.connectUser({ uid: 1000, url: 'https://other.example.com/' })).rejects.toMatchObject({
      code: ErrorCodes.BUSY,
    });
  });

  it('connect while the previous user tunnel is still disconnecting is busy', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    void r.engine.disconnectUser({ uid: 1000 });
    await tick(5);
    expect(tunnel(r.engine, 'user')?.state).toBe('disconnecting');
    await expect(r.engine.connectUser({ uid: 1000, url: USER_URL })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    await tick(100);
    await expect(r.engine.connectUser({ uid: 1000, url: USER_URL })).resolves.toBeUndefined();
  });

  it('disconnect while the user tunnel is authenticating cancels it and the machine tunnel returns', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(15); // machine closed at +10, user authenticating
    expect(tunnel(r.engine, 'user')?.state).toBe('authenticating');
    await r.engine.disconnectUser({ uid: 1000 });
    await tick(100);
    expect(r.driver.calls('user', 'open')).toHaveLength(0);
    expect(tunnel(r.engine, 'machine')?.state).toBe('connected');
  });
});

describe('ownership of the user tunnel', () => {
  it('uid A cannot disconnect uid B’s tunnel; an admin can', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const err = await r.engine.disconnectUser({ uid: 1001 }).catch((e: unknown) => e);
    expect(isTandemError(err, ErrorCodes.PERMISSION)).toBe(true);
    expect(tunnel(r.engine, 'user')?.state).toBe('connected');
    const done = r.engine.disconnectUser({ uid: 0, admin: true });
    await tick(100);
    await done;
    expect(tunnel(r.engine, 'user')?.state).toBe('idle');
  });

  it('disconnecting when there is no user tunnel is a no-op for anyone', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await expect(r.engine.disconnectUser({ uid: 4242 })).resolves.toBeUndefined();
  });
});

describe('snapshots and shutdown', () => {
  it('snapshots carry an increasing seq and never the session cookie', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const seqs = r.snapshots.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(JSON.stringify(r.snapshots)).not.toMatch(/SECRET-/);
    expect(JSON.stringify(r.engine.snapshot())).not.toMatch(/SECRET-/);
  });

  it('stop() brings everything down, reverting routes and DNS, with logout', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    const stopped = r.engine.stop();
    await tick(100);
    await stopped;
    expect(r.driver.applied.size).toBe(0);
    expect(r.engine.networkHolder).toBeNull();
    expect(r.driver.logouts).toEqual(['machine']);
    await expect(r.engine.connectUser({ uid: 1000, url: USER_URL })).rejects.toMatchObject({ code: ErrorCodes.USAGE });
    r.network.change(UNTRUSTED);
    await tick(1000);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(1);
  });

  it('stop() during a bring-up waits for open() to settle and closes what it opened', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(15);
    const stopped = r.engine.stop();
    await tick(100);
    await stopped;
    expect(r.driver.applied.size).toBe(0);
    expect(r.driver.calls('machine', 'close', 'end')).toHaveLength(1);
  });
});
