/**
 * Reconnect policy on fake time (docs/protocol.md#reconnect): DPD death → cookie reconnect with
 * backoff while routes stay applied; 401 → re-authentication (automatic for the machine
 * tunnel, only with a connected signer for the user tunnel); server DISCONNECT → no retry.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { Engine, type EngineEvent } from '../src/index.js';
import {
  FakeDriver,
  FakeNetwork,
  FakeUsers,
  mgmtProfile,
  TRUSTED,
  UNTRUSTED,
  USER_URL,
  type Op,
} from '@tandem/engine/testing';

const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};

function rig(network = UNTRUSTED) {
  const driver = new FakeDriver();
  const net = new FakeNetwork(network);
  const users = new FakeUsers();
  users.signers.add(1000);
  const engine = new Engine({
    driver,
    network: net,
    users,
    machineProfile: mgmtProfile(),
    random: () => 0,
    reconnect: { budgetMs: 60_000 },
  });
  const events: EngineEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const tunnel = (kind: 'machine' | 'user') => engine.snapshot().tunnels.find((t) => t.kind === kind)!;
  return { engine, driver, network: net, users, events, tunnel };
}

/** Fails the next `count` calls of `op` for `kind` with `code`. */
function failNext(
  driver: FakeDriver,
  kind: 'machine' | 'user',
  op: Op,
  code: (typeof ErrorCodes)[keyof typeof ErrorCodes],
  count: number,
): void {
  let left = count;
  const previous = driver.faults;
  driver.faults = (k, o) => {
    if (k === kind && o === op && left > 0) {
      left -= 1;
      return code;
    }
    return previous(k, o);
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('DPD dead → cookie reconnect with backoff', () => {
  it('retries at 1 s, 2 s, 4 s (×2) keeping routes applied, then is connected again with the same cookie', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    const plane = r.driver.plane('machine')!;
    failNext(r.driver, 'machine', 'reconnect', ErrorCodes.GATEWAY_UNREACHABLE, 2);
    const deadAt = Date.now();
    plane.killTransport();
    await tick(0);
    expect(r.tunnel('machine')).toMatchObject({
      state: 'reconnecting',
      reconnect: { attempt: 0, phase: 'waiting', nextAt: deadAt + 1000 },
    });
    await tick(20_000);
    const starts = r.driver.calls('machine', 'reconnect').map((c) => c.at - deadAt);
    // attempt 0 at 1000; it fails after 10 ms → attempt 1 at +2000; → attempt 2 at +4000.
    expect(starts).toEqual([1000, 1000 + 10 + 2000, 1000 + 10 + 2000 + 10 + 4000]);
    expect(r.tunnel('machine').state).toBe('connected');
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(1); // no re-auth needed
    expect(r.driver.applied.has('machine')).toBe(true);
    expect(r.engine.networkHolder).toBe('machine');
    expect(r.driver.calls('machine', 'close')).toHaveLength(0); // routes never reverted meanwhile
    expect(r.driver.violations).toEqual([]);
  });

  it('caps the delay at 30 s and gives up after the budget (error: reconnect-timeout), then the machine tunnel restarts', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    failNext(r.driver, 'machine', 'reconnect', ErrorCodes.GATEWAY_UNREACHABLE, 1_000);
    r.driver.plane('machine')!.killTransport();
    await tick(61_000);
    const starts = r.driver.calls('machine', 'reconnect').map((c) => c.at);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]! - 10);
    // ×2 up to the 30 s cap; the last wait is cut so the final attempt lands at the 60 s budget.
    expect(gaps).toEqual([2000, 4000, 8000, 16000, 60_000 - 31_040 - 10]);
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: 'session-ended', kind: 'machine', state: 'error', cause: 'reconnect-timeout' }),
    );
    expect(r.driver.applied.size).toBe(0);
    // The gateway is back: after the restart hold (2 s) the machine tunnel authenticates afresh.
    r.driver.faults = () => null;
    await tick(3_000);
    expect(r.tunnel('machine').state).toBe('connected');
  });

  it('a user disconnect during the backoff wait closes the tunnel at once', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    r.driver.plane('user')!.killTransport();
    await tick(100);
    expect(r.tunnel('user').state).toBe('reconnecting');
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(50);
    await done;
    expect(r.tunnel('user').state).toBe('idle');
    expect(r.driver.calls('user', 'reconnect')).toHaveLength(0);
    expect(r.driver.logouts).toEqual(['user']);
  });
});

describe('401 cookie rejected → re-authentication', () => {
  it('machine tunnel re-authenticates automatically and reconnects with the new cookie', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    const plane = r.driver.plane('machine')!;
    r.driver.rejectedCookies.add(plane.cookie);
    plane.killTransport();
    await tick(2_000);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(2);
    expect(
      r.driver.log.filter((c) => c.kind === 'machine' && c.op === 'reconnect' && c.phase === 'end').map((c) => c.ok),
    ).toEqual([false, true]);
    expect(r.tunnel('machine').state).toBe('connected');
    expect(r.driver.calls('machine', 'close')).toHaveLength(0);
    expect(r.driver.violations).toEqual([]);
  });

  it('user tunnel re-authenticates through the user when their signer is connected', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const plane = r.driver.plane('user')!;
    r.driver.rejectedCookies.add(plane.cookie);
    plane.killTransport();
    await tick(2_000);
    expect(r.driver.calls('user', 'authenticate').map((c) => c.uid)).toEqual([1000, 1000]);
    expect(r.tunnel('user')).toMatchObject({ state: 'connected', ownerUid: 1000 });
  });

  it('user tunnel without a connected signer ends in error (cookie-rejected), routes reverted, machine tunnel back', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    r.users.signers.delete(1000); // the tray went away
    const plane = r.driver.plane('user')!;
    r.driver.rejectedCookies.add(plane.cookie);
    plane.killTransport();
    await tick(2_000);
    expect(r.driver.calls('user', 'authenticate')).toHaveLength(1);
    expect(r.tunnel('user')).toMatchObject({ state: 'error', cause: 'cookie-rejected', ownerUid: 1000 });
    expect(r.tunnel('user').message).toMatch(/no client of the tunnel owner/);
    expect(r.engine.inputs().userIntent).toBeNull();
    expect(r.tunnel('machine').state).toBe('connected');
    expect(r.driver.violations).toEqual([]);
  });

  it('re-authentication refused (auth-rejected) ends in error with that cause', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const plane = r.driver.plane('user')!;
    r.driver.rejectedCookies.add(plane.cookie);
    failNext(r.driver, 'user', 'authenticate', ErrorCodes.AUTH_REJECTED, 1);
    plane.killTransport();
    await tick(2_000);
    expect(r.tunnel('user')).toMatchObject({ state: 'error', cause: 'auth-rejected' });
    expect(r.driver.applied.size).toBe(0);
  });
});

describe('re-authentication that fails transiently (gateway overloaded after a restart)', () => {
  it('is retried after the backoff without the refused cookie, and the routes stay applied', async () => {
    const r = rig();
    await r.engine.start();
    await tick(100);
    const plane = r.driver.plane('machine')!;
    r.driver.rejectedCookies.add(plane.cookie);
    failNext(r.driver, 'machine', 'authenticate', ErrorCodes.GATEWAY_TIMEOUT, 1);
    const deadAt = Date.now();
    plane.killTransport();
    await tick(1_030);
    // 401 at +1000 → re-auth at +1010 times out at +1020 → waits for attempt 1 (2 s).
    expect(r.tunnel('machine')).toMatchObject({
      state: 'reconnecting',
      reconnect: { attempt: 1, phase: 'waiting', nextAt: deadAt + 1020 + 2000 },
    });
    await tick(3_000);
    expect(r.driver.calls('machine', 'authenticate').map((c) => c.at - deadAt)).toEqual([-100, 1010, 3020]);
    // The refused cookie is not tried again: one 401, then the new cookie.
    expect(
      r.driver.log.filter((c) => c.kind === 'machine' && c.op === 'reconnect' && c.phase === 'end').map((c) => c.ok),
    ).toEqual([false, true]);
    expect(r.tunnel('machine').state).toBe('connected');
    expect(r.driver.calls('machine', 'close')).toHaveLength(0);
    expect(r.events.filter((e) => e.type === 'session-ended')).toEqual([]);
    expect(r.driver.violations).toEqual([]);
  });

  it('a user tunnel keeps retrying while its signer is there, and gives up at the budget', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    const plane = r.driver.plane('user')!;
    r.driver.rejectedCookies.add(plane.cookie);
    failNext(r.driver, 'user', 'authenticate', ErrorCodes.GATEWAY_UNREACHABLE, 1_000);
    plane.killTransport();
    await tick(30_000);
    expect(r.tunnel('user')).toMatchObject({ state: 'reconnecting', ownerUid: 1000 });
    // Re-auths at +1010, then after 2, 4, 8 s: never the refused cookie again.
    expect(r.driver.calls('user', 'authenticate')).toHaveLength(1 + 4);
    expect(r.driver.calls('user', 'reconnect')).toHaveLength(1);
    await tick(31_000);
    expect(r.tunnel('user')).toMatchObject({ state: 'error', cause: 'reconnect-timeout' });
    expect(r.driver.applied.size).toBe(0);
  });
});

describe('server DISCONNECT → no retry', () => {
  it('user tunnel goes idle with cause gateway-ended and is not reconnected', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    r.driver.plane('user')!.serverDisconnect('session timeout');
    await tick(60_000);
    expect(r.tunnel('user')).toMatchObject({
      state: 'idle',
      cause: 'gateway-ended',
      message: 'gateway ended the session: session timeout',
    });
    expect(r.driver.calls('user', 'reconnect')).toHaveLength(0);
    expect(r.driver.calls('user', 'authenticate')).toHaveLength(1);
    expect(r.driver.logouts).toEqual([]); // the gateway already ended it
    expect(r.driver.applied.size).toBe(0);
  });

  it('a TUN failure ends the user tunnel with cause tun-failed: no reconnect, network released', async () => {
    const r = rig(TRUSTED);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    r.driver.plane('user')!.tunFailure('TUN failed: EIO');
    await tick(60_000);
    expect(r.tunnel('user')).toMatchObject({ state: 'error', cause: 'tun-failed', message: 'TUN failed: EIO' });
    expect(r.driver.calls('user', 'reconnect')).toHaveLength(0);
    expect(r.driver.calls('user', 'authenticate')).toHaveLength(1);
    expect(r.driver.applied.size).toBe(0);
  });

  it('machine tunnel: no reconnect, but the supervisor restarts it after the backoff hold', async () => {
    const r = rig(UNTRUSTED);
    await r.engine.start();
    await tick(100);
    r.driver.plane('machine')!.serverDisconnect();
    await tick(20);
    expect(r.tunnel('machine')).toMatchObject({ state: 'idle', cause: 'gateway-ended' });
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'machine-restart-scheduled', failures: 1 }));
    await tick(1_900);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(1);
    await tick(200);
    expect(r.driver.calls('machine', 'authenticate')).toHaveLength(2);
    expect(r.driver.calls('machine', 'reconnect')).toHaveLength(0);
    await tick(100);
    expect(r.tunnel('machine').state).toBe('connected');
  });
});

describe('bring-up failures are error states with a cause', () => {
  it.each([
    [ErrorCodes.CERT_NOT_FOUND, 'authenticate', 'no-certificate'],
    [ErrorCodes.SERVER_CERT_UNTRUSTED, 'authenticate', 'server-cert-untrusted'],
    [ErrorCodes.GATEWAY_UNREACHABLE, 'authenticate', 'gateway-unreachable'],
    [ErrorCodes.TUN, 'open', 'tun-failed'],
    [ErrorCodes.NETCONFIG, 'open', 'netconfig-failed'],
  ] as const)(
    '%s in %s → error cause %s; the machine tunnel is retried with growing holds',
    async (code, op, cause) => {
      const r = rig(UNTRUSTED);
      failNext(r.driver, 'machine', op, code, 2);
      await r.engine.start();
      await tick(50);
      expect(r.tunnel('machine')).toMatchObject({ state: 'error', cause });
      expect(r.engine.networkHolder).toBeNull();
      await tick(2_100); // first hold: 2 s
      expect(r.tunnel('machine')).toMatchObject({ state: 'error', cause });
      await tick(4_100); // second hold: 4 s
      expect(r.tunnel('machine').state).toBe('connected');
    },
  );
});
