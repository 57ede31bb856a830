/**
 * Engine snapshots for the agent's unit tests: both tunnels idle unless a test says otherwise.
 */
import type { EngineSnapshot, TunnelSnapshot } from '@tandem/engine';

/** A snapshot with the machine and user tunnels as given (idle, no gateway, zero counters by default). */
export function engineSnapshot(
  machine: Partial<TunnelSnapshot> = {},
  user: Partial<TunnelSnapshot> = {},
  rest: Partial<Pick<EngineSnapshot, 'desired' | 'tnd' | 'userTnd'>> = {},
): EngineSnapshot {
  const base = {
    gateway: null,
    since: Date.now(),
    addresses: [],
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
  };
  return {
    seq: 1,
    at: Date.now(),
    desired: rest.desired ?? { tunnel: 'machine', reason: 'untrusted network' },
    tnd: rest.tnd ?? { verdict: 'untrusted', reason: 'test' },
    userTnd: rest.userTnd ?? { verdict: 'unknown', reason: 'no user profile' },
    machineTunnelEnabled: true,
    tunnels: [
      { ...base, kind: 'machine', state: 'idle', ...machine },
      { ...base, kind: 'user', state: 'idle', ...user },
    ],
  } as EngineSnapshot;
}
