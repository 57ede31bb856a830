/**
 * The tray's pure policies: notifications per transition (never repeated), certificate expiry
 * once per certificate per day, the tray menu for each state, the settings file (atomic,
 * corrupt tolerated), the prompt queue's answers, and the tray's log ring.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, ErrorCodes, RingSink } from '@tandem/common';
import type { CertificateInfo, StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import { validate } from '@tandem/contract';
import { TrayView } from '../src/core/bridge.js';
import { downloadsDirFrom } from '../src/core/downloads.js';
import { translate } from '../src/core/i18n.js';
import { trayMenu } from '../src/core/menu.js';
import { ExpiryNotifier, TunnelNotifier } from '../src/core/notifications.js';
import { PromptQueue, promptRequestOf, SecretKeeper } from '../src/core/prompts.js';
import { SettingsStore, settingsPathFrom } from '../src/core/settings.js';
import { createTrayLog } from '../src/core/tray-log.js';
import { trayView } from '../src/core/view-model.js';
import { failedTunnel, HOSTS, idle, userTunnel } from './scripted-agent.js';

const UID = 1000;
const snap = (user: TunnelSnapshot): StatusSnapshot => ({ machine: idle('machine'), user });
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tandem-tray-policy-'));
  dirs.push(d);
  return d;
};

describe('tunnel notifications', () => {
  const run = (states: TunnelSnapshot[]): string[] => {
    const n = new TunnelNotifier();
    return states.flatMap((s) => n.observe(snap(s), UID)).map((x) => x.body.key);
  };

  it('announces each transition once, from a silent baseline', () => {
    expect(
      run([
        idle('user'),
        userTunnel('connecting', UID),
        userTunnel('connected', UID),
        userTunnel('connected', UID),
        userTunnel('reconnecting', UID, 1),
        userTunnel('reconnecting', UID, 2),
        userTunnel('connected', UID),
        idle('user'),
        idle('user'),
      ]),
    ).toEqual(['notify.connected', 'notify.reconnecting', 'notify.connected', 'notify.disconnected']);
    expect(run([userTunnel('connected', UID)])).toEqual([]);
  });

  it('tells a failure once with its reason and code, and a new failure again', () => {
    const n = new TunnelNotifier();
    n.observe(snap(userTunnel('connecting', UID)), UID);
    const first = n.observe(snap(failedTunnel(UID, 'E_AUTH_REJECTED')), UID);
    expect(first).toEqual([
      {
        title: { key: 'notify.failedTitle' },
        body: { key: 'notify.failed', params: { message: 'the gateway said no', code: 'E_AUTH_REJECTED' } },
      },
    ]);
    expect(translate('en', first[0]!.body)).toBe('the gateway said no (E_AUTH_REJECTED)');
    expect(n.observe(snap(failedTunnel(UID, 'E_AUTH_REJECTED')), UID)).toEqual([]);
    expect(n.observe(snap(failedTunnel(UID, 'E_AUTH_REJECTED', '2026-12-06T10:05:00.000Z')), UID)).toHaveLength(1);
    // Failing after an attempt that never came up is not also "disconnected".
    expect(n.observe(snap(idle('user')), UID)).toEqual([]);
  });

  it("ignores another user's tunnel, and its end", () => {
    expect(run([idle('user'), userTunnel('connected', 2000), idle('user')])).toEqual([]);
  });
});

describe('certificate expiry', () => {
  const cert = (sha: string, notAfter: string): CertificateInfo => ({
    sha256: sha.repeat(64),
    subject: 'CN=alice, OU=users, O=Tandem Lab',
    issuer: 'CN=Tandem Lab Issuing CA',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter,
    keyType: 'ec',
  });
  it('tells each certificate expiring within 14 days once a day', () => {
    const n = new ExpiryNotifier();
    const now = new Date('2026-12-01T08:00:00.000Z');
    const certs = [
      cert('a', '2026-12-10T00:00:00.000Z'),
      cert('b', '2027-06-01T00:00:00.000Z'),
      cert('c', '2026-11-30T00:00:00.000Z'),
    ];
    const first = n.check(certs, now);
    expect(first).toEqual([
      {
        title: { key: 'notify.certExpiringTitle' },
        body: { key: 'notify.certExpiring', params: { subject: 'alice', date: '2026-12-10' } },
      },
    ]);
    expect(n.check(certs, new Date('2026-12-01T20:00:00.000Z'))).toEqual([]);
    expect(n.check(certs, new Date('2026-12-02T08:00:00.000Z'))).toHaveLength(1);
  });
});

describe('tray menu', () => {
  const view = (user: TunnelSnapshot | null, agent: 'up' | 'down' = 'up'): TrayView =>
    trayView({ locale: 'en', agent, status: user ? snap(user) : null, uid: UID, hosts: HOSTS, selectedHost: null });
  const labels = (v: TrayView): string[] =>
    trayMenu(v).map((i) =>
      i.kind === 'separator' ? '---' : `${translate('en', i.label)}${i.enabled ? '' : ' (disabled)'}`,
    );

  it('offers each host while idle, disconnect while connected, a diagnostic bundle with the agent, one at a time', () => {
    expect(labels(view(idle('user')))).toEqual([
      'Connect to Corp VPN',
      'Connect to Lab',
      'Disconnect (disabled)',
      '---',
      'Show Tandem',
      'Create diagnostic bundle…',
      '---',
      'Quit',
    ]);
    expect(labels(view(userTunnel('connected', UID))).slice(0, 3)).toEqual([
      'Connect to Corp VPN (disabled)',
      'Connect to Lab (disabled)',
      'Disconnect',
    ]);
    expect(labels(view(null, 'down'))).toContain('Create diagnostic bundle… (disabled)');
    // While a bundle is being built the item says so and waits; afterwards it is offered again.
    const building = { ...view(idle('user')), diagnostics: { phase: 'receiving' as const, done: 1, total: 5 } };
    expect(labels(building)).toContain('Creating diagnostic bundle… (disabled)');
    expect(validate(TrayView, building).ok).toBe(true);
    const failed = {
      ...view(idle('user')),
      diagnostics: { phase: 'failed' as const, code: 'E_IPC_LIMIT' as const, message: 'busy' },
    };
    expect(labels(failed)).toContain('Create diagnostic bundle…');
    expect(validate(TrayView, view(idle('user'))).ok).toBe(true);
  });
});

describe('tray settings', () => {
  it('lives under $XDG_CONFIG_HOME, else ~/.config', () => {
    expect(settingsPathFrom({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).toBe('/x/cfg/tandem/tray.json');
    expect(settingsPathFrom({ HOME: '/home/a' })).toBe('/home/a/.config/tandem/tray.json');
  });

  it('saves atomically with mode 0600 and reads back', () => {
    const path = join(temp(), 'tandem', 'tray.json');
    const s = new SettingsStore(path);
    expect(s.get()).toEqual({});
    s.update({ lastHost: 'Lab', certificate: 'a'.repeat(64) });
    s.update({ certificate: undefined });
    expect(new SettingsStore(path).get()).toEqual({ lastHost: 'Lab' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('tolerates a corrupt or foreign file and replaces it on the next change', () => {
    const dir = join(temp(), 'tandem');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'tray.json');
    for (const bad of ['{not json', '[1,2]', '{"lastHost": 7}', 'x'.repeat(70_000)]) {
      writeFileSync(path, bad, { mode: 0o600 });
      expect(new SettingsStore(path).get()).toEqual({});
    }
    writeFileSync(path, '{"lastHost":"Lab","fromTheFuture":true}', { mode: 0o600 });
    const s = new SettingsStore(path);
    expect(s.get()).toEqual({ lastHost: 'Lab' });
    s.update({ autostart: false });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ lastHost: 'Lab', autostart: false });
  });
});

describe('downloads directory', () => {
  it('is $XDG_DOWNLOAD_DIR, else user-dirs.dirs, else ~/Downloads', async () => {
    const home = temp();
    expect(await downloadsDirFrom({ HOME: home, XDG_DOWNLOAD_DIR: '/srv/dl' })).toBe('/srv/dl');
    expect(await downloadsDirFrom({ HOME: home })).toBe(join(home, 'Downloads'));
    mkdirSync(join(home, '.config'));
    writeFileSync(join(home, '.config', 'user-dirs.dirs'), 'XDG_DOWNLOAD_DIR="$HOME/Herunterladen"\n');
    expect(await downloadsDirFrom({ HOME: home })).toBe(join(home, 'Herunterladen'));
  });
});

describe('prompt queue', () => {
  it('shows the oldest question first and checks answers against the question', async () => {
    const q = new PromptQueue(new SecretKeeper());
    const a = q.ask({ kind: 'confirm', title: 'T', message: 'M' });
    const b = q.ask({
      kind: 'certificate',
      remember: true,
      candidates: [
        {
          sha256: 'a'.repeat(64),
          subject: 'CN=a',
          issuer: 'CN=ca',
          notAfter: '2027-01-01T00:00:00.000Z',
          store: 'file',
          accepted: true,
          reasons: [],
        },
        {
          sha256: 'b'.repeat(64),
          subject: 'CN=b',
          issuer: 'CN=ca',
          notAfter: '2027-01-01T00:00:00.000Z',
          store: 'file',
          accepted: false,
          reasons: ['expired'],
        },
      ],
    });
    expect(q.current()?.kind).toBe('confirm');
    q.answer(1, true, 'ignored');
    expect(await a).toEqual({ accepted: true });
    expect(() => q.answer(2, true, 'b'.repeat(64))).toThrow(expect.objectContaining({ code: ErrorCodes.IPC_PARAMS }));
    q.answer(2, true, 'a'.repeat(64));
    expect(await b).toEqual({ accepted: true, answer: 'a'.repeat(64) });
    expect(() => q.answer(2, false)).toThrow(expect.objectContaining({ code: ErrorCodes.IPC_PARAMS }));
  });

  it("maps every kind of the agent's prompt", () => {
    for (const kind of ['confirm', 'text', 'secret'] as const)
      expect(promptRequestOf({ kind, title: 't', message: 'm' })).toEqual({ kind, title: 't', message: 'm' });
    expect(promptRequestOf({ kind: 'choice', title: 't', message: 'm' })).toEqual({
      kind: 'choice',
      title: 't',
      message: 'm',
      choices: [],
    });
  });
});

describe('tray log', () => {
  it('keeps the last records at every level, redacted, and still writes to the given logger', () => {
    const outer = new RingSink();
    const log = createTrayLog(createLogger({ level: 'warn', sinks: [outer.sink] }), 3);
    const child = log.logger.child('tray');
    child.debug('one');
    child.info('two', { n: 2 });
    child.child('agent-link').warn('three');
    child.error('four', { password: 'hunter2' });
    expect(log.records().map((r) => [r.level, r.scope, r.msg])).toEqual([
      ['info', 'tray', 'two'],
      ['warn', 'tray:agent-link', 'three'],
      ['error', 'tray', 'four'],
    ]);
    expect(JSON.stringify(log.records())).not.toContain('hunter2');
    // The outer logger keeps its own level.
    expect(outer.records().map((r) => r.msg)).toEqual(['three', 'four']);
  });
});
