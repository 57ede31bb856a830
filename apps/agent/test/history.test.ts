/**
 * The tunnels' history (apps/agent/src/history.ts): transitions kept with their stable codes,
 * failures logged at warning or error so `journalctl -p warning -u tandemd` shows them, and a
 * user's view limited to the machine tunnel and its own user tunnels.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, type LogRecord } from '@tandem/common';
import { TunnelHistory } from '../src/history.js';
import { engineSnapshot } from './lib/snapshots.js';

const snap = engineSnapshot;

describe('tunnel history', () => {
  it('records each change once, with the stable code, and logs failures by severity', () => {
    const records: LogRecord[] = [];
    const h = new TunnelHistory(createLogger({ level: 'debug', sinks: [(r) => records.push(r)] }));
    h.observe(snap({}));
    h.observe(snap({ state: 'authenticating', gateway: 'https://gw' }));
    h.observe(snap({ state: 'authenticating', gateway: 'https://gw' })); // no change: nothing new
    h.observe(snap({ state: 'reconnecting', gateway: 'https://gw', cause: 'gateway-unreachable', message: 'dead' }));
    h.observe(
      snap({ state: 'error', gateway: 'https://gw', cause: 'tun-failed', message: 'TUNSETIFF: not permitted' }),
    );
    const machine = h.transitions(null).filter((t) => t.tunnel === 'machine');
    expect(machine.map((t) => `${t.from}>${t.to}`)).toEqual([
      'start>idle',
      'idle>authenticating',
      'authenticating>reconnecting',
      'reconnecting>error',
    ]);
    expect(machine.at(-1)).toMatchObject({ code: 'E_TUN', message: 'TUNSETIFF: not permitted' });
    expect(h.lastFailure('machine', null)).toMatchObject({ code: 'E_TUN' });
    const logged = records.map((r) => `${r.level} ${r.msg} ${String(r.fields?.['code'])}`);
    expect(logged).toEqual([
      'warn machine tunnel lost; reconnecting E_GATEWAY_UNREACHABLE',
      'error machine tunnel failed E_TUN',
    ]);
  });

  it("shows a user only the machine tunnel and its own user tunnel's changes", () => {
    const h = new TunnelHistory();
    h.observe(snap({}, { state: 'authenticating', ownerUid: 1000, gateway: 'https://a' }));
    h.observe(
      snap({}, { state: 'error', ownerUid: 1000, gateway: 'https://a', cause: 'auth-rejected', message: 'no' }),
    );
    expect(h.transitions(1000).filter((t) => t.tunnel === 'user').length).toBe(2);
    expect(h.transitions(1001).some((t) => t.uid === 1000)).toBe(false);
    expect(h.lastFailure('user', 1001)).toBeUndefined();
    expect(h.lastFailure('user', 1000)).toMatchObject({ code: 'E_AUTH_REJECTED' });
  });
});
