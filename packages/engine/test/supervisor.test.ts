import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decideTunnel,
  desiredTunnel,
  reconcileStep,
  type SessionPosition,
  type SupervisorInputs,
} from '../src/index.js';

const base = (): SupervisorInputs => ({
  serviceEnabled: true,
  machine: { profilePresent: true, enabled: true, tndConfigured: true, url: 'https://mgmt/machine' },
  tnd: { verdict: 'untrusted', reason: 'hotel' },
  userIntent: null,
});

describe('desiredTunnel', () => {
  it('machine on an untrusted network with everything in place', () => {
    expect(decideTunnel(base())).toEqual({
      tunnel: 'machine',
      reason: 'untrusted network: hotel',
      target: { url: 'https://mgmt/machine' },
    });
  });

  it.each([
    [
      'service stopped',
      (i: SupervisorInputs) => {
        i.serviceEnabled = false;
      },
    ],
    [
      'no management tunnel profile',
      (i: SupervisorInputs) => {
        i.machine.profilePresent = false;
      },
    ],
    [
      'machine tunnel disabled',
      (i: SupervisorInputs) => {
        i.machine.enabled = false;
      },
    ],
    [
      'TND not configured',
      (i: SupervisorInputs) => {
        i.machine.tndConfigured = false;
      },
    ],
    [
      'management profile has no HostEntry',
      (i: SupervisorInputs) => {
        i.machine.url = null;
      },
    ],
    [
      'trusted network: office',
      (i: SupervisorInputs) => {
        i.tnd = { verdict: 'trusted', reason: 'office' };
      },
    ],
    [
      'network trust unknown: no network',
      (i: SupervisorInputs) => {
        i.tnd = { verdict: 'unknown', reason: 'no network' };
      },
    ],
  ])('none: %s', (reason, tweak) => {
    const i = base();
    tweak(i);
    expect(decideTunnel(i)).toEqual({ tunnel: 'none', reason });
  });

  it('a user intent wins over the machine tunnel and over a trusted network, but not over shutdown', () => {
    const i = base();
    i.userIntent = { uid: 1000, url: 'https://vpn/users' };
    expect(decideTunnel(i)).toMatchObject({ tunnel: 'user', target: { url: 'https://vpn/users', uid: 1000 } });
    i.tnd = { verdict: 'trusted', reason: 'office' };
    expect(desiredTunnel(i)).toBe('user');
    i.serviceEnabled = false;
    expect(desiredTunnel(i)).toBe('none');
  });
});

const STATES = ['idle', 'authenticating', 'connecting', 'connected', 'reconnecting', 'disconnecting', 'error'] as const;
const rest = (s: string) => s === 'idle' || s === 'error';

describe('reconcileStep', () => {
  const pos = (
    state: SessionPosition['state'],
    target?: SessionPosition['target'],
    stopping = false,
  ): SessionPosition => ({ state, stopping, ...(target ? { target } : {}) });
  const machineT = { url: 'https://mgmt/machine' };
  const userT = { url: 'https://vpn/users', uid: 1000 };

  it('machine → user: stop the machine first, start the user only once the machine is at rest', () => {
    const decision = { tunnel: 'user' as const, reason: '', target: userT };
    expect(
      reconcileStep({
        decision,
        sessions: { machine: pos('connected', machineT), user: pos('idle') },
        machineHeld: false,
      }),
    ).toEqual([{ type: 'stop', kind: 'machine' }]);
    expect(
      reconcileStep({
        decision,
        sessions: { machine: pos('disconnecting', machineT, true), user: pos('idle') },
        machineHeld: false,
      }),
    ).toEqual([]);
    expect(
      reconcileStep({ decision, sessions: { machine: pos('idle'), user: pos('idle') }, machineHeld: false }),
    ).toEqual([{ type: 'start', kind: 'user', target: userT }]);
  });

  it('a held machine tunnel is not restarted', () => {
    const decision = { tunnel: 'machine' as const, reason: '', target: machineT };
    expect(
      reconcileStep({ decision, sessions: { machine: pos('error', machineT), user: pos('idle') }, machineHeld: true }),
    ).toEqual([]);
    expect(
      reconcileStep({ decision, sessions: { machine: pos('error', machineT), user: pos('idle') }, machineHeld: false }),
    ).toEqual([{ type: 'start', kind: 'machine', target: machineT }]);
  });

  it('a session running toward an old target is stopped before the new one starts', () => {
    const decision = { tunnel: 'machine' as const, reason: '', target: { url: 'https://mgmt2/machine' } };
    expect(
      reconcileStep({
        decision,
        sessions: { machine: pos('connected', machineT), user: pos('idle') },
        machineHeld: false,
      }),
    ).toEqual([{ type: 'stop', kind: 'machine' }]);
  });

  it('property: never starts a session while the other is not at rest, never starts two, never stops the wanted one', () => {
    const posArb = fc.record({ state: fc.constantFrom(...STATES), stopping: fc.boolean() });
    fc.assert(
      fc.property(
        fc.constantFrom('none' as const, 'machine' as const, 'user' as const),
        posArb,
        posArb,
        fc.boolean(),
        (tunnel, m, u, held) => {
          const target = tunnel === 'machine' ? machineT : tunnel === 'user' ? userT : undefined;
          const sessions = { machine: { ...m, target: machineT }, user: { ...u, target: userT } };
          const actions = reconcileStep({
            decision: { tunnel, reason: '', ...(target ? { target } : {}) },
            sessions,
            machineHeld: held,
          });
          const starts = actions.filter((a) => a.type === 'start');
          expect(starts.length).toBeLessThanOrEqual(1);
          for (const a of starts) {
            expect(a.kind).toBe(tunnel);
            expect(rest(sessions[a.kind === 'machine' ? 'user' : 'machine'].state)).toBe(true);
            expect(rest(sessions[a.kind].state)).toBe(true);
          }
          for (const a of actions.filter((x) => x.type === 'stop')) {
            expect(a.kind).not.toBe(tunnel);
            expect(rest(sessions[a.kind].state)).toBe(false);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
