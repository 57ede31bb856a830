/**
 * Every state the window can show, built by the real view model from agent snapshots, so the
 * renderer tests render exactly what the main process would send.
 */
import type { StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import type { Locale, PromptView, TrayView } from '../../src/core/bridge.js';
import { trayView, type ViewInputs } from '../../src/core/view-model.js';

const since = '2026-12-06T10:00:00.000Z';
/** The hosts of the test profile, in its order. */
export const HOSTS = [
  { name: 'Corp VPN', address: 'vpn.example.com' },
  { name: 'Corp VPN (Asia)', address: 'vpn-asia.example.com' },
];

const idle = (tunnel: 'machine' | 'user'): TunnelSnapshot => ({ tunnel, status: { state: 'idle' } });
const up = (tunnel: 'machine' | 'user', gateway: string, ownerUid?: number): TunnelSnapshot => ({
  tunnel,
  ...(ownerUid !== undefined ? { ownerUid } : {}),
  status: {
    state: 'connected',
    gateway,
    since,
    addresses: { ipv4: '10.8.0.2', dns: ['10.8.0.1'], searchDomains: ['corp.example'] },
    bytesIn: 123456,
    bytesOut: 65432,
    dtls: true,
  },
});
const user = (status: TunnelSnapshot['status']): TunnelSnapshot => ({ tunnel: 'user', ownerUid: 1000, status });

/** The statistics of a connected tunnel, grouped like `vpncli stats`. */
export const STATS: NonNullable<TrayView['stats']> = [
  {
    title: 'Connection Information',
    entries: [
      { name: 'State', value: 'Connected' },
      { name: 'Duration', value: '00:05:12' },
      { name: 'Tunnel Mode (IPv4)', value: 'Split Include' },
      { name: 'Secured Routes (IPv4)', value: '10.0.0.0/8, 192.168.50.0/24' },
    ],
  },
  {
    title: 'Address Information',
    entries: [
      { name: 'Client (IPv4)', value: '10.8.0.2' },
      { name: 'Server', value: '203.0.113.10' },
    ],
  },
  {
    title: 'Bytes',
    entries: [
      { name: 'Sent', value: '65432' },
      { name: 'Received', value: '123456' },
    ],
  },
  {
    title: 'Frames',
    entries: [
      { name: 'Sent', value: '310' },
      { name: 'Received', value: '402' },
    ],
  },
  {
    title: 'Transport',
    entries: [
      { name: 'Protocol', value: 'DTLS 1.2' },
      { name: 'Cipher', value: 'ECDHE-RSA-AES256-GCM-SHA384' },
    ],
  },
];

type Extra = Partial<Omit<ViewInputs, 'status'>>;
const snapshot = (userTunnel: TunnelSnapshot, machine = idle('machine'), trusted = false): StatusSnapshot => ({
  user: userTunnel,
  machine,
  ...(trusted ? { network: { trust: 'trusted' as const } } : {}),
});
const base = (status: StatusSnapshot | null, extra: Extra = {}): TrayView =>
  trayView({ locale: 'en', agent: 'up', status, uid: 1000, hosts: HOSTS, selectedHost: 'Corp VPN', ...extra });

/** The window's states by name, each a function of the locale (and extra inputs, e.g. a prompt). */
export const STATES = {
  agentDown: (x: Extra = {}) => base(null, { agent: 'down', ...x }),
  agentConnecting: (x: Extra = {}) => base(null, { agent: 'connecting', ...x }),
  disconnected: (x: Extra = {}) => base(snapshot(idle('user')), x),
  management: (x: Extra = {}) => base(snapshot(idle('user'), up('machine', 'mgmt.example.com')), x),
  trusted: (x: Extra = {}) => base(snapshot(idle('user'), idle('machine'), true), x),
  connecting: (x: Extra = {}) =>
    base(snapshot(user({ state: 'connecting', gateway: 'vpn.example.com', since, stage: 'tls' })), x),
  reconnecting: (x: Extra = {}) =>
    base(snapshot(user({ state: 'reconnecting', gateway: 'vpn.example.com', since, attempt: 2 })), x),
  connected: (x: Extra = {}) => base(snapshot(up('user', 'vpn.example.com', 1000)), { stats: STATS, ...x }),
  error: (x: Extra = {}) =>
    base(
      snapshot(
        user({
          state: 'error',
          since,
          gateway: 'vpn.example.com',
          cause: { code: 'E_CERT_NOT_FOUND', message: 'no certificate matches the profile', stage: 'mca' },
        }),
      ),
      x,
    ),
  otherUser: (x: Extra = {}) => base(snapshot(up('user', 'vpn.example.com', 1001)), { stats: STATS, ...x }),
} satisfies Record<string, (x?: Extra) => TrayView>;

/** A state's name. */
export type StateName = keyof typeof STATES;

/** The disconnected view in `locale` with `prompt` pending. */
export const withPrompt = (prompt: PromptView, locale: Locale = 'en'): TrayView =>
  STATES.disconnected({ locale, prompt });
