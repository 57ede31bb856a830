import { describe, expect, it } from 'vitest';
import { SnapshotFeed, tunnelSnapshot, type DataPlane } from '../src/index.js';

const DETAILS: NonNullable<ReturnType<NonNullable<DataPlane['details']>>> = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  dtls: false,
  mtu: 1400,
  mode4: 'split-include',
  mode6: 'none',
  routes4: ['10.0.0.0/8'],
  routes6: [],
};

const plane: DataPlane & { cookie: string } = {
  cookie: 'SECRET-cookie',
  addresses: ['10.0.0.2', 'fd00::2'],
  stats: () => ({ bytesIn: 1500, bytesOut: 900, packetsIn: 15, packetsOut: 9 }),
  // A plane may hand more than the port names: only the listed fields may reach the snapshot.
  details: () => ({ ...DETAILS, masterSecret: 'SECRET-tls' }),
  onDead: () => () => {},
  onEnded: () => () => {},
  reconnect: async () => {},
  close: async () => {},
};

describe('snapshot projection', () => {
  it('copies addresses and counters from the plane, and never anything else of it', () => {
    const t = tunnelSnapshot(
      'user',
      {
        state: 'connected',
        since: 5,
        gateway: 'https://vpn/users',
        plane,
        target: { url: 'https://vpn/users', uid: 7 },
      },
      7,
    );
    expect(t).toEqual({
      kind: 'user',
      state: 'connected',
      gateway: 'https://vpn/users',
      since: 5,
      addresses: ['10.0.0.2', 'fd00::2'],
      bytesIn: 1500,
      bytesOut: 900,
      packetsIn: 15,
      packetsOut: 9,
      details: DETAILS,
      ownerUid: 7,
    });
    expect(JSON.stringify(t)).not.toContain('SECRET');
  });

  it('machine tunnels have no owner; errors carry cause and message', () => {
    const t = tunnelSnapshot(
      'machine',
      { state: 'error', since: 1, cause: 'no-certificate', message: 'no machine certificate matched' },
      3,
    );
    expect(t).toEqual({
      kind: 'machine',
      state: 'error',
      gateway: null,
      since: 1,
      addresses: [],
      bytesIn: 0,
      bytesOut: 0,
      packetsIn: 0,
      packetsOut: 0,
      cause: 'no-certificate',
      message: 'no machine certificate matched',
    });
  });

  it('the feed numbers snapshots strictly increasing', () => {
    const feed = new SnapshotFeed();
    const seen: number[] = [];
    feed.subscribe((s) => seen.push(s.seq));
    const source = {
      now: 0,
      desired: { tunnel: 'none' as const, reason: 'x' },
      tnd: { verdict: 'unknown' as const, reason: 'y' },
      userTnd: { verdict: 'unknown' as const, reason: 'z' },
      alwaysOn: { blocking: false, reason: '' },
      portal: 'none' as const,
      machineTunnelEnabled: true,
      sessions: [],
    };
    feed.publish(source);
    feed.publish(source);
    expect(seen).toEqual([1, 2]);
    expect(feed.lastSeq).toBe(2);
  });
});
