/**
 * The user profiles' TND policies (docs/always-on.md#trusted-network-detection-and-the-user-tunnel): Disconnect and Pause on a
 * trusted network, Connect on an untrusted one for a user whose signer is connected, and no
 * automatic connect again for a user who disconnected on the same network.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine, userTndAction } from '../src/index.js';
import {
  alwaysOnPolicy,
  FakeDriver,
  FakeNetwork,
  FakeUsers,
  TRUSTED,
  UNTRUSTED,
  USER_URL,
} from '@tandem/engine/testing';

const tick = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

function rig(trustedPolicy: 'Disconnect' | 'Pause' | 'DoNothing' | 'Connect', signer = true) {
  const driver = new FakeDriver();
  const net = new FakeNetwork(UNTRUSTED);
  const users = new FakeUsers();
  if (signer) users.signers.add(1000);
  const policy = { ...alwaysOnPolicy(), trustedNetworkPolicy: trustedPolicy };
  const engine = new Engine({ driver, network: net, users, userPolicy: { policy, gateways: [USER_URL] } });
  const user = () => engine.snapshot().tunnels.find((t) => t.kind === 'user')!;
  return { driver, net, engine, user };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('user tunnel TND policies', () => {
  it('UntrustedNetworkPolicy Connect starts the tunnel for the user whose signer is there', async () => {
    const r = rig('Disconnect');
    await r.engine.start();
    await tick(100);
    expect(r.user()).toMatchObject({ state: 'connected', ownerUid: 1000, gateway: USER_URL });
    const none = rig('Disconnect', false);
    await none.engine.start();
    await tick(100);
    expect(none.user().state).toBe('idle');
  });

  it('TrustedNetworkPolicy Disconnect ends it on a trusted network; back on an untrusted one it connects again', async () => {
    const r = rig('Disconnect');
    await r.engine.start();
    await tick(100);
    r.net.change(TRUSTED);
    await tick(100);
    expect(r.user().state).toBe('idle');
    expect(r.driver.logouts).toContain('user');
    r.net.change(UNTRUSTED);
    await tick(100);
    expect(r.user().state).toBe('connected');
  });

  it("the snapshot carries the user profiles' verdict beside the management profile's", async () => {
    const r = rig('Disconnect');
    await r.engine.start();
    await tick(100);
    expect(r.engine.snapshot().userTnd.verdict).toBe('untrusted');
    r.net.change(TRUSTED);
    await tick(100);
    // No management profile: its verdict stays unknown; the one that ended the tunnel is shown.
    expect(r.engine.snapshot().tnd.verdict).toBe('unknown');
    expect(r.engine.snapshot().userTnd).toMatchObject({ verdict: 'trusted', reason: expect.stringMatching(/DNS/) });
  });

  it('Pause ends it and resumes it on the next untrusted network; DoNothing leaves it', async () => {
    const r = rig('Pause', false);
    await r.engine.start();
    await r.engine.connectUser({ uid: 1000, url: USER_URL });
    await tick(100);
    r.net.change(TRUSTED);
    await tick(100);
    expect(r.user().state).toBe('idle');
    r.net.change(UNTRUSTED);
    await tick(100);
    expect(r.user()).toMatchObject({ state: 'connected', ownerUid: 1000 });
    const d = rig('DoNothing');
    await d.engine.start();
    await tick(100);
    d.net.change(TRUSTED);
    await tick(100);
    expect(d.user().state).toBe('connected');
  });

  it('a user who disconnected is not connected again on the same network', async () => {
    const r = rig('Disconnect');
    await r.engine.start();
    await tick(100);
    const done = r.engine.disconnectUser({ uid: 1000 });
    await tick(100);
    await done;
    r.net.change(UNTRUSTED); // a DHCP renewal: same verdict, same network
    await tick(100);
    expect(r.user().state).toBe('idle');
    r.net.change(TRUSTED);
    await tick(50);
    r.net.change(UNTRUSTED); // a new untrusted network
    await tick(100);
    expect(r.user().state).toBe('connected');
  });

  it('does nothing without an enabled policy or with trust unknown', () => {
    const base = {
      intent: null,
      paused: null,
      declined: false,
      signers: [1000],
      firstUrl: USER_URL,
    };
    expect(userTndAction({ ...base, policy: null, verdict: 'untrusted' })).toBeNull();
    expect(
      userTndAction({ ...base, policy: { ...alwaysOnPolicy(), enabled: false }, verdict: 'untrusted' }),
    ).toBeNull();
    expect(userTndAction({ ...base, policy: alwaysOnPolicy(), verdict: 'unknown' })).toBeNull();
  });
});
