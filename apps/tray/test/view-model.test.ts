/** Every state of the agent's snapshot as the tray shows it: icon, sentence, management line, buttons. */
import { describe, expect, it } from 'vitest';
import type { StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import { validate } from '@tandem/contract';
import { TrayView } from '../src/core/bridge.js';
import { translate } from '../src/core/i18n.js';
import { trayView, type ViewInputs } from '../src/core/view-model.js';

const since = '2026-12-06T10:00:00.000Z';
const idle = (tunnel: 'machine' | 'user'): TunnelSnapshot => ({ tunnel, status: { state: 'idle' } });
const hosts = [{ name: 'Corp VPN', address: 'vpn.example.com' }];
const inputs = (status: StatusSnapshot | null, extra: Partial<ViewInputs> = {}): ViewInputs => ({
  locale: 'en',
  agent: 'up',
  status,
  uid: 1000,
  hosts,
  selectedHost: 'Corp VPN',
  ...extra,
});
const status = (user: TunnelSnapshot, machine = idle('machine'), trust?: 'trusted'): StatusSnapshot => ({
  user,
  machine,
  ...(trust ? { network: { trust } } : {}),
});
const connected = (gateway: string, ownerUid = 1000): TunnelSnapshot => ({
  tunnel: 'user',
  ownerUid,
  status: {
    state: 'connected',
    gateway,
    since,
    addresses: { ipv4: '10.8.0.2', dns: [], searchDomains: [] },
    bytesIn: 1,
    bytesOut: 2,
    dtls: false,
  },
});

/** The view, checked against the bridge schema, with its sentence in English. */
function view(inp: ViewInputs) {
  const v = trayView(inp);
  const checked = validate(TrayView, v);
  expect(checked.ok, checked.ok ? '' : checked.issue).toBe(true);
  return { ...v, text: translate('en', v.sentence), mgmt: translate('en', v.management) };
}

describe('tray view model', () => {
  it('agent unreachable: error icon, retry sentence, nothing to click', () => {
    const v = view(inputs(null, { agent: 'down' }));
    expect([v.icon, v.text, v.canConnect, v.canDisconnect]).toEqual([
      'error',
      'The Tandem service is not running. Trying again…',
      false,
      false,
    ]);
  });

  it('idle: disconnected, Connect allowed when there is a host', () => {
    const v = view(inputs(status(idle('user'))));
    expect([v.icon, v.text, v.mgmt, v.canConnect, v.canDisconnect]).toEqual([
      'disconnected',
      'Not connected.',
      'Disconnected',
      true,
      false,
    ]);
    expect(view(inputs(status(idle('user')), { hosts: [] })).canConnect).toBe(false);
  });

  it('management tunnel up, then the user tunnel takes over', () => {
    const mgmt = connected('mgmt.example.com');
    const machine: TunnelSnapshot = { tunnel: 'machine', status: mgmt.status };
    const v = view(inputs(status(idle('user'), machine)));
    expect([v.icon, v.text, v.mgmt]).toEqual([
      'management',
      'Not connected. The management tunnel to mgmt.example.com is up.',
      'Connected',
    ]);
    const up = view(inputs(status(connected('vpn.example.com')), { stats: [{ title: 'Bytes', entries: [] }] }));
    expect([up.icon, up.text, up.mgmt, up.canDisconnect, up.stats?.length]).toEqual([
      'connected',
      'Connected to vpn.example.com.',
      'Disconnected (user tunnel active)',
      true,
      1,
    ]);
  });

  it('trusted network: its own icon and line', () => {
    const v = view(inputs(status(idle('user'), idle('machine'), 'trusted')));
    expect([v.icon, v.text, v.mgmt]).toEqual([
      'trusted',
      'On a trusted network: no VPN needed.',
      'Disconnected (trusted network)',
    ]);
  });

  it('connecting and reconnecting: progress icon, Disconnect allowed', () => {
    const c = view(
      inputs(status({ tunnel: 'user', ownerUid: 1000, status: { state: 'connecting', gateway: 'g', since } })),
    );
    expect([c.icon, c.text, c.canConnect, c.canDisconnect]).toEqual(['connecting', 'Connecting to g…', false, true]);
    const r = view(
      inputs(
        status({ tunnel: 'user', ownerUid: 1000, status: { state: 'reconnecting', gateway: 'g', since, attempt: 3 } }),
      ),
    );
    expect([r.icon, r.text]).toEqual(['connecting', 'Connection to g lost. Reconnecting (attempt 3)…']);
  });

  it('error: the stable code and message, Connect allowed again', () => {
    const cause = { code: 'E_CERT_NOT_FOUND' as const, message: 'no certificate matches the profile' };
    const v = view(inputs(status({ tunnel: 'user', ownerUid: 1000, status: { state: 'error', since, cause } })));
    expect([v.icon, v.text, v.error, v.canConnect]).toEqual([
      'error',
      'Could not connect: no certificate matches the profile',
      cause,
      true,
    ]);
  });

  it("another user's tunnel: says so, shows neither their error nor a Disconnect", () => {
    const v = view(inputs(status(connected('vpn.example.com', 1001))));
    expect([v.text, v.canDisconnect, v.stats]).toEqual([
      'Another user of this computer is using the VPN.',
      false,
      undefined,
    ]);
    const cause = { code: 'E_AUTH_REJECTED' as const, message: 'theirs' };
    const e = view(inputs(status({ tunnel: 'user', ownerUid: 1001, status: { state: 'error', since, cause } })));
    expect(e.error).toBeUndefined();
  });

  it('network notice: Always-On block while nothing is connected, a captive portal first', () => {
    const blocked: StatusSnapshot = { ...status(idle('user')), network: { trust: 'untrusted', blocked: true } };
    expect(translate('en', trayView(inputs(blocked)).network!)).toBe('Blocked by Always-On until the VPN connects');
    const up: StatusSnapshot = {
      ...status(connected('vpn.example.com')),
      network: { trust: 'untrusted', blocked: true },
    };
    expect(trayView(inputs(up)).network).toBeUndefined();
    const portal: StatusSnapshot = {
      ...status(idle('user')),
      network: { trust: 'untrusted', blocked: true, portal: 'detected' },
    };
    expect(translate('en', trayView(inputs(portal)).network!)).toMatch(/^Captive portal detected/);
    expect(trayView(inputs(status(idle('user')))).network).toBeUndefined();
  });
});
