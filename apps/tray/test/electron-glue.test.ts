/**
 * The Electron glue with `electron` replaced by a recorder (no Electron binary exists here),
 * over the real core and a scripted agent: the window's secure preferences, one instance per
 * session, the tray menu from the view, the `tandem:call` channel answering through the bridge
 * host with typed errors, a diagnostic bundle from the menu, navigation and permissions refused,
 * the CSP header, start at login, and the preload exposing exactly `call` and `onView` on the
 * same channels.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { inspectBundle } from '@tandem/diagnostics';
import { TrayIcon } from '../src/core/bridge.js';
import { desktopEntry, setAutostart } from '../src/main/autostart.js';
import { SettingsStore } from '../src/core/settings.js';
import { fakeEvent } from './fake-electron.js';
import {
  allowNonRootOwner,
  idle,
  startScriptedAgent,
  until,
  userTunnel,
  type ScriptedAgent,
} from './scripted-agent.js';

const fake = await vi.hoisted(async () => (await import('./fake-electron.js')).createFakeElectron());
vi.mock('electron', () => fake.module);
const { runTray, CALL_CHANNEL, VIEW_CHANNEL, iconPath } = await import('../src/main/app.js');
const { CONTENT_SECURITY_POLICY } = await import('../src/main/security.js');

const APP_DIR = '/opt/tandem-tray';
const RENDERER = join(APP_DIR, 'dist', 'renderer', 'index.html');
const uid = process.getuid!();
let dir: string;
let agent: ScriptedAgent;
const running: Array<{ quit(): Promise<void> }> = [];

beforeEach(async () => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), 'tandem-tray-glue-'));
  agent = await startScriptedAgent();
});
afterEach(async () => {
  while (running.length) await running.pop()!.quit();
  await agent.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function start(argv: string[] = []) {
  const main = runTray({
    argv: ['electron', 'main.js', ...argv],
    env: { HOME: dir },
    appDir: APP_DIR,
    core: {
      socketPath: agent.path,
      allowNonRootOwner,
      settings: new SettingsStore(join(dir, 'tray.json')),
      downloadsDir: async () => join(dir, 'Downloads'),
      signer: { userDir: join(dir, 'certs') },
      linkPolicy: { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 },
    },
  });
  if (main) {
    running.push(main);
    await main.ready;
  }
  return main;
}

const ipcCall = (url: string, method: unknown, params?: unknown) =>
  fake.state.ipc.get(CALL_CHANNEL)!(fakeEvent({ senderFrame: { url } }), method, params) as Promise<unknown>;

describe('tray main process (electron mocked)', () => {
  // That the package carries the window and the icons in the same places: test/package-tray.test.ts.
  it('loads the window from where the Vite build writes it', async () => {
    const trayDir = join(import.meta.dirname, '..');
    const config = (await import('../vite.config.js')).default as { build: { outDir: string } };
    expect(config.build.outDir).toBe(join(trayDir, 'dist', 'renderer'));
  });

  it('opens a sandboxed, isolated window without Node on the local page', async () => {
    const main = await start();
    expect(fake.state.windows).toHaveLength(1);
    const w = fake.state.windows[0]!;
    expect(w.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      preload: join(APP_DIR, 'dist', 'preload', 'preload.cjs'),
    });
    expect(w.loaded).toBe(RENDERER);
    expect(w.visible).toBe(true);
    // Closing hides: the tray keeps running.
    const close = fakeEvent();
    w.emit('close', close);
    expect(close.defaultPrevented).toBe(true);
    expect(w.visible).toBe(false);
    expect(main!.window()).toBe(w);
  });

  it('starts hidden with --hidden; a second start quits and shows the first one’s window', async () => {
    await start(['--hidden']);
    expect(fake.state.windows).toHaveLength(0);
    fake.state.lock = false;
    expect(runTray({ argv: [], env: {}, appDir: APP_DIR })).toBeNull();
    expect(fake.state.quits).toBe(1);
    fake.app.emit('second-instance', fakeEvent(), ['tandem-tray'], '/');
    expect(fake.state.windows).toHaveLength(1);
    expect(fake.state.windows[0]!.visible).toBe(true);
  });

  it('draws the tray icon and menu from the view, in the OS language, and pushes views to the window', async () => {
    const main = await start();
    await until(() => main!.core()!.view().agent === 'up', 'agent up');
    const tray = fake.state.trays[0]!;
    await until(() => (tray.menu?.template.length ?? 0) > 0 && tray.menu!.template[0]!.enabled === true, 'menu');
    expect(tray.menu!.template.map((i) => i['label'] ?? '---')).toEqual([
      'Mit Corp VPN verbinden',
      'Mit Lab verbinden',
      'Trennen',
      '---',
      'Tandem anzeigen',
      'Diagnosepaket erstellen…',
      '---',
      'Beenden',
    ]);
    expect(tray.image).toEqual({ path: iconPath(APP_DIR, 'disconnected') });
    (tray.menu!.template[0]!['click'] as () => void)();
    await until(() => agent.calls.some((c) => c.method === 'connect'), 'connect from the menu');
    expect(agent.calls.find((c) => c.method === 'connect')?.params).toEqual({ host: 'Corp VPN' });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    await until(
      () => tray.image !== null && (tray.image as { path: string }).path.endsWith('tray-connected.png'),
      'icon',
    );
    expect(tray.tooltip).toBe('Tandem VPN: Verbunden mit vpn.example.test.');
    expect(tray.menu!.template[2]).toMatchObject({ label: 'Trennen', enabled: true });
    const sent = fake.state.windows[0]!.webContents.sent.filter(([ch]) => ch === VIEW_CHANNEL);
    expect(sent.at(-1)?.[1]).toMatchObject({ icon: 'connected', locale: 'de' });
    await until(() => fake.state.notifications.length > 0, 'notification');
    expect(fake.state.notifications[0]).toEqual({ title: 'VPN verbunden', body: expect.any(String) });
  });

  it('Diagnosepaket erstellen… from the menu: the bundle carries the app version; a German notification says where', async () => {
    const main = await start();
    await until(() => main!.core()!.view().agent === 'up', 'agent up');
    const tray = fake.state.trays[0]!;
    await until(() => tray.menu?.template[5]?.['enabled'] === true, 'menu');
    (tray.menu!.template[5]!['click'] as () => void)();
    await until(() => main!.core()!.view().diagnostics?.phase === 'done', 'bundle built');
    const done = main!.core()!.view().diagnostics as { path: string; bundleId: string };
    expect(fake.state.notifications.at(-1)).toEqual({
      title: 'Diagnosepaket',
      body: `${done.bundleId} gespeichert unter ${done.path}.`,
    });
    expect((await inspectBundle(done.path)).manifest.tool_version).toBe('0.1.0-test');
  });

  it('answers tandem:call through the bridge host, with typed errors for malformed or foreign calls', async () => {
    await start();
    const page = pathToFileURL(RENDERER).href;
    expect(await ipcCall(page, 'view', {})).toMatchObject({ ok: true, result: { locale: 'de' } });
    expect(await ipcCall(page, 'rm -rf', {})).toMatchObject({ ok: false, error: { code: ErrorCodes.IPC_METHOD } });
    expect(await ipcCall(page, 'connect', { host: 42 })).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_PARAMS },
    });
    expect(await ipcCall(page, 'view')).toMatchObject({ ok: false, error: { code: ErrorCodes.IPC_PARAMS } });
    expect(await ipcCall('https://evil.example/', 'view', {})).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.PERMISSION },
    });
  });

  it('blocks navigation, new windows and webviews, denies every permission, and sets the CSP', async () => {
    await start();
    const contents = fake.state.windows[0]!.webContents;
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const e = fakeEvent({ url: 'https://evil.example/' });
      contents.emit(event, e, 'https://evil.example/');
      expect(e.defaultPrevented, event).toBe(true);
    }
    expect(contents.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    const granted: boolean[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read'])
      fake.state.permissionRequest!(contents, permission, (ok: boolean) => granted.push(ok), {});
    expect(granted).toEqual([false, false, false, false]);
    expect(fake.state.permissionCheck!(contents, 'media', 'file://', {})).toBe(false);
    let headers: Record<string, string[]> = {};
    fake.state.headers!({ responseHeaders: { 'X-A': ['1'] } }, (r: { responseHeaders: Record<string, string[]> }) => {
      headers = r.responseHeaders;
    });
    expect(headers).toEqual({ 'X-A': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
  });

  it('shows the window when a question arrives while hidden', async () => {
    const main = await start(['--hidden']);
    await until(() => main!.core()!.view().agent === 'up', 'agent up');
    await main!.core()!.handlers.connect({ host: 'Lab' });
    const asked = agent.connectCtx()!.reverse('prompt', { kind: 'confirm', title: 'Trust?', message: 'm' });
    asked.catch(() => undefined);
    await until(() => fake.state.windows[0]?.visible === true, 'window shown for the prompt');
  });
});

describe('tray icons', () => {
  it('has a PNG in both sizes for every TrayIcon state', () => {
    const states = /^enum\((.*)\)$/.exec(TrayIcon.kind)![1]!.split('|');
    expect(states).toHaveLength(6);
    const assets = fileURLToPath(new URL('..', import.meta.url));
    for (const state of states) {
      for (const file of [
        iconPath(assets, state as TrayIcon),
        iconPath(assets, state as TrayIcon).replace('.png', '@2x.png'),
      ]) {
        expect(readFileSync(file).subarray(0, 8).toString('hex'), file).toBe('89504e470d0a1a0a');
      }
    }
  });
});

describe('start at login', () => {
  it('writes an XDG autostart entry that starts hidden, and one that hides the system entry when off', () => {
    const home = mkdtempSync(join(tmpdir(), 'tandem-tray-autostart-'));
    try {
      const opts = {
        platform: 'linux' as const,
        env: { XDG_CONFIG_HOME: join(home, 'cfg') },
        execPath: '/opt/Tandem VPN/tandem-tray',
        loginItems: { setLoginItemSettings: () => undefined },
      };
      setAutostart(true, opts);
      const file = join(home, 'cfg', 'autostart', 'tandem-tray.desktop');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('[Desktop Entry]\nType=Application\n');
      expect(text).toContain('Exec="/opt/Tandem VPN/tandem-tray" --hidden\n');
      expect(text).toContain('Icon=tandem-tray\n');
      expect(text).not.toContain('Hidden=');
      expect(statSync(file).mode & 0o777).toBe(0o644);
      // Off: the user's file stays and hides the package's /etc/xdg/autostart entry of the same name.
      setAutostart(false, opts);
      const off = readFileSync(file, 'utf8');
      expect(off).toContain('Hidden=true\n');
      expect(off).toContain('X-GNOME-Autostart-enabled=false\n');
      setAutostart(true, opts);
      expect(readFileSync(file, 'utf8')).toBe(text);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('quotes what the Desktop Entry spec reserves and refuses line breaks', () => {
    expect(desktopEntry('/a/$b"c%d')).toContain('Exec="/a/\\\\$b\\\\"c%%d" --hidden\n');
    expect(() => desktopEntry('/a\nExec=evil')).toThrow();
  });

  it('uses the login item API elsewhere', () => {
    const seen: unknown[] = [];
    setAutostart(true, {
      platform: 'darwin',
      env: {},
      execPath: '/Applications/Tandem.app',
      loginItems: { setLoginItemSettings: (s) => void seen.push(s) },
    });
    expect(seen).toEqual([{ openAtLogin: true, openAsHidden: true, args: ['--hidden'] }]);
  });
});

describe('preload', () => {
  it('exposes exactly window.tandem = { call, onView } on the main side’s channels', async () => {
    const source = readFileSync(new URL('../src/preload/preload.cts', import.meta.url), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const exposed = new Map<string, Record<string, (...a: unknown[]) => unknown>>();
    const invoked: unknown[][] = [];
    const subscribed = new Map<string, Set<(...a: unknown[]) => void>>();
    const electron = {
      contextBridge: {
        exposeInMainWorld: (k: string, v: Record<string, (...a: unknown[]) => unknown>) => exposed.set(k, v),
      },
      ipcRenderer: {
        invoke: (...a: unknown[]) => (invoked.push(a), Promise.resolve({ ok: true, result: {} })),
        on: (ch: string, h: (...a: unknown[]) => void) => subscribed.set(ch, (subscribed.get(ch) ?? new Set()).add(h)),
        removeListener: (ch: string, h: (...a: unknown[]) => void) => subscribed.get(ch)?.delete(h),
      },
    };
    const required: string[] = [];
    const require = (name: string): unknown => {
      required.push(name);
      if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
      return electron;
    };
    vm.runInNewContext(js, { require, exports: {}, module: { exports: {} } });
    expect(required).toEqual(['electron']);
    expect([...exposed.keys()]).toEqual(['tandem']);
    const api = exposed.get('tandem')!;
    expect(Object.keys(api).sort()).toEqual(['call', 'onView']);
    await api['call']!('view', {});
    expect(invoked).toEqual([[CALL_CHANNEL, 'view', {}]]);
    const views: unknown[] = [];
    const off = api['onView']!((v: unknown) => views.push(v)) as () => void;
    for (const h of subscribed.get(VIEW_CHANNEL) ?? []) h({}, { icon: 'connected' });
    off();
    for (const h of subscribed.get(VIEW_CHANNEL) ?? []) h({}, { icon: 'error' });
    expect(views).toEqual([{ icon: 'connected' }]);
  });
});
