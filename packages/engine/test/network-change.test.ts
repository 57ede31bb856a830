/**
 * Network changes reach running sessions at once (docs/protocol.md#network-changes): a connected
 * plane is asked to check its path, and a session waiting out its reconnect backoff tries at
 * once instead of at the end of the wait, without a second attempt when the old timer fires.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { Engine } from '../src/index.js';
import { FakeDriver, FakeNetwork, FakeUsers, mgmtProfile, UNTRUSTED } from '@tandem/engine/testing';

const tick = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

function rig() {
  const driver = new FakeDriver();
  const network = new FakeNetwork(UNTRUSTED);
  const engine = new Engine({
    driver,
    network,
    users: new FakeUsers(),
    machineProfile: mgmtProfile(),
    random: () => 0,
    reconnect: { initialMs: 8_000, budgetMs: 120_000 },
  });
  const machine = () => engine.snapshot().tunnels.find((t) => t.kind === 'machine')!;
  return { driver, network, engine, machine };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('network changes and running sessions', () => {
  it('asks a connected plane to check its path on every change', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    const plane = r.driver.plane('machine')!;
    expect(r.machine().state).toBe('connected');
    expect(plane.networkChanges).toBe(0);
    r.network.change(UNTRUSTED);
    r.network.change(UNTRUSTED);
    await tick(0);
    expect(plane.networkChanges).toBe(2);
    expect(r.machine().state).toBe('connected');
  });

  it('reconnects at once when the network changes during the backoff wait, and only once', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    let fails = 1;
    r.driver.faults = (kind, op) =>
      kind === 'machine' && op === 'reconnect' && fails-- > 0 ? ErrorCodes.GATEWAY_UNREACHABLE : null;
    r.driver.plane('machine')!.killTransport();
    await tick(0);
    expect(r.machine()).toMatchObject({ state: 'reconnecting', reconnect: { phase: 'waiting' } });
    const diedAt = Date.now();
    await tick(8_000 + 10); // the first attempt (at 8 s) fails: the next wait is 16 s
    expect(r.driver.calls('machine', 'reconnect')).toHaveLength(1);
    await tick(2_000);
    r.network.change(UNTRUSTED); // e.g. the uplink came back
    await tick(50);
    expect(r.machine().state).toBe('connected');
    const starts = r.driver.calls('machine', 'reconnect').map((c) => c.at - diedAt);
    expect(starts).toEqual([8_000, 10_010]);
    await tick(30_000); // the replaced timer must not start another attempt
    expect(r.driver.calls('machine', 'reconnect')).toHaveLength(2);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(1);
    expect(r.driver.violations).toEqual([]);
  });

  it('reconnects without backoff when the plane gave its transport up because the path moved', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    const movedAt = Date.now();
    r.driver.plane('machine')!.killTransport('network changed: new uplink', { retryNow: true });
    await tick(50);
    expect(r.machine().state).toBe('connected');
    expect(r.driver.calls('machine', 'reconnect').map((c) => c.at - movedAt)).toEqual([0]);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(1);
  });
});
