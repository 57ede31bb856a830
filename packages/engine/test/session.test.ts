import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { NetworkOwnership, SessionMachine, systemClock, type SessionStateName } from '../src/index.js';
import { FakeDriver, FakeUsers } from '@tandem/engine/testing';

const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};
const target = { url: 'https://vpn.example.com/users', uid: 1000 };

function machine(kind: 'machine' | 'user' = 'user') {
  const driver = new FakeDriver();
  const ownership = new NetworkOwnership();
  const users = new FakeUsers();
  users.signers.add(1000);
  const session = new SessionMachine({ kind, driver, clock: systemClock, ownership, users, random: () => 0 });
  const trail: SessionStateName[] = [];
  session.onChange(() => trail.push(session.stateName));
  return { driver, ownership, session, trail };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('SessionMachine', () => {
  it('walks idle → authenticating → connecting → connected, taking the routes/DNS token before open()', async () => {
    const m = machine();
    m.session.connect(target);
    await tick(15);
    expect(m.session.stateName).toBe('connecting');
    expect(m.ownership.holder).toBe('user');
    await tick(10);
    expect(m.trail).toEqual(['authenticating', 'connecting', 'connected']);
  });

  it('disconnect while connecting waits for open() to settle, closes the plane, and only then releases the token', async () => {
    const m = machine();
    m.session.connect(target);
    await tick(15);
    const done = m.session.disconnect(true);
    expect(m.session.stateName).toBe('connecting');
    await tick(5); // open resolves at 20 ms
    expect(m.session.stateName).toBe('disconnecting');
    expect(m.ownership.holder).toBe('user');
    await tick(10);
    await done;
    expect(m.session.stateName).toBe('idle');
    expect(m.ownership.holder).toBeNull();
    expect(m.driver.applied.size).toBe(0);
  });

  it('disconnect while authenticating leaves at once and drops the late cookie', async () => {
    const m = machine();
    m.session.connect(target);
    await tick(5);
    await m.session.disconnect(true);
    expect(m.session.stateName).toBe('idle');
    await tick(100);
    expect(m.session.stateName).toBe('idle');
    expect(m.driver.calls('user', 'open')).toHaveLength(0);
  });

  it('a failed open() gives the token back and lands in error with the cause', async () => {
    const m = machine();
    m.driver.faults = (_k, op) => (op === 'open' ? ErrorCodes.TUN : null);
    m.session.connect(target);
    await tick(30);
    expect(m.session.view()).toMatchObject({ state: 'error', cause: 'tun-failed', target });
    expect(m.ownership.holder).toBeNull();
  });

  it('a rejected close() still ends the session, as netconfig-failed', async () => {
    const m = machine();
    m.session.connect(target);
    await tick(30);
    m.driver.faults = (_k, op) => (op === 'close' ? ErrorCodes.NETCONFIG : null);
    await Promise.all([m.session.disconnect(false), tick(20)]);
    expect(m.session.view()).toMatchObject({ state: 'error', cause: 'netconfig-failed' });
    expect(m.ownership.holder).toBeNull();
  });

  it('ignores a late DPD from a plane it already closed', async () => {
    const m = machine();
    m.session.connect(target);
    await tick(30);
    const old = m.driver.plane('user')!;
    await Promise.all([m.session.disconnect(false), tick(20)]);
    m.session.connect(target);
    await tick(30);
    expect(m.session.stateName).toBe('connected');
    old.killTransport();
    await tick(0);
    expect(m.session.stateName).toBe('connected');
  });

  it('shutdown from rest finishes the machine; later events are ignored', async () => {
    const m = machine();
    m.session.shutdown();
    m.session.connect(target);
    await tick(100);
    expect(m.session.stateName).toBe('idle');
    expect(m.driver.log).toEqual([]);
  });

  it('the machine kind never passes a uid to authenticate', async () => {
    const m = machine('machine');
    m.session.connect({ url: 'https://mgmt.example.com/machine' });
    await tick(30);
    expect(m.session.stateName).toBe('connected');
    expect(m.driver.calls('machine', 'authenticate')[0]?.uid).toBeUndefined();
    expect(m.driver.violations).toEqual([]);
  });

  it('the ownership token refuses a second holder', () => {
    const o = new NetworkOwnership();
    o.acquire('machine');
    expect(() => o.acquire('user')).toThrow(/invariant violated/);
    expect(() => o.release('user')).toThrow(/invariant violated/);
    o.release('machine');
    expect(o.holder).toBeNull();
  });
});
