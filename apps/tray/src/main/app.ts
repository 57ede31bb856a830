/**
 * The Electron glue: one instance per user session, the tray icon and its menu, the sandboxed
 * window, desktop notifications and the `tandem:call` channel — all drawn from the core
 * ({@link createTrayApp}), which holds every decision. Nothing here talks to the agent.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  session,
  Tray,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
} from 'electron';
import { ErrorCodes } from '@tandem/common';
import { socketFromEnv } from '@tandem/contract';
import type { BridgeReply, TrayIcon, TrayView } from '../core/bridge.js';
import { handleBridge } from '../core/bridge-host.js';
import { downloadsDirFrom } from '../core/downloads.js';
import { msg, pickLocale, translate } from '../core/i18n.js';
import type { MenuAction, MenuItem } from '../core/menu.js';
import { SettingsStore, settingsPathFrom } from '../core/settings.js';
import { createTrayApp, type TrayApp, type TrayAppOptions } from '../core/tray-app.js';
import { setAutostart } from './autostart.js';
import { hardenContents, hardenSession, secureWebPreferences } from './security.js';

/** The channel of the window's requests (the preload uses the same name). */
export const CALL_CHANNEL = 'tandem:call';
/** The channel of view pushes to the window. */
export const VIEW_CHANNEL = 'tandem:view';

/** How the tray was started. */
export interface TrayMainOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The app's directory: `assets/`, `dist/renderer/` (the built window) and `dist/preload/` are found under it. */
  appDir: string;
  /** Overrides of the core's options (tests point it at their own agent and stores). */
  core?: Partial<TrayAppOptions>;
}

/** The running tray, for tests and the entry point. */
export interface TrayMain {
  /** Resolves once the app is ready and the tray is drawn. */
  readonly ready: Promise<void>;
  core(): TrayApp | null;
  window(): BrowserWindow | null;
  showWindow(): void;
  quit(): Promise<void>;
}

/** The icon file for a state. */
export const iconPath = (appDir: string, icon: TrayIcon): string => join(appDir, 'assets', `tray-${icon}.png`);

/** The native menu template for the core's menu model, labels in `locale`. */
export function menuTemplate(
  items: readonly MenuItem[],
  locale: TrayView['locale'],
  onAction: (a: MenuAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((i) =>
    i.kind === 'separator'
      ? { type: 'separator' }
      : { label: translate(locale, i.label), enabled: i.enabled, click: () => onAction(i.action) },
  );
}

/**
 * Starts the tray. Returns null in a second instance, which only wakes the first (its window
 * appears) and quits.
 */
export function runTray(opts: TrayMainOptions): TrayMain | null {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  const rendererFile = opts.env['TANDEM_TRAY_RENDERER'] || join(opts.appDir, 'dist', 'renderer', 'index.html');
  const rendererUrl = pathToFileURL(rendererFile).href;
  let core: TrayApp | null = null;
  let tray: Tray | null = null;
  let win: BrowserWindow | null = null;
  let quitting = false;
  let lastMenu = '';
  let lastIcon: TrayIcon | null = null;
  let hadPrompt = false;

  const showWindow = (): void => {
    if (!core) return;
    if (!win || win.isDestroyed()) win = createWindow(core);
    win.show();
    win.focus();
  };

  const createWindow = (c: TrayApp): BrowserWindow => {
    const w = new BrowserWindow({
      width: 440,
      height: 620,
      show: false,
      title: translate(c.view().locale, msg('app.name')),
      autoHideMenuBar: true,
      webPreferences: secureWebPreferences(join(opts.appDir, 'dist', 'preload', 'preload.cjs')),
    });
    // Closing the window hides it: the tray keeps running (and signing) until Quit.
    w.on('close', (event) => {
      if (quitting) return;
      event.preventDefault();
      w.hide();
    });
    w.on('show', () => c.setWindowVisible(true));
    w.on('restore', () => c.setWindowVisible(true));
    w.on('hide', () => c.setWindowVisible(false));
    w.on('minimize', () => c.setWindowVisible(false));
    w.on('closed', () => {
      c.setWindowVisible(false);
      if (win === w) win = null;
    });
    void w.loadFile(rendererFile);
    return w;
  };

  const onAction = (action: MenuAction): void => {
    if (action.kind === 'show') showWindow();
    else if (action.kind === 'quit') void quit();
    else void core?.run(action);
  };

  const draw = (view: TrayView): void => {
    if (!tray || !core) return;
    if (view.icon !== lastIcon) {
      lastIcon = view.icon;
      tray.setImage(nativeImage.createFromPath(iconPath(opts.appDir, view.icon)));
    }
    tray.setToolTip(translate(view.locale, msg('tray.tooltip', { state: translate(view.locale, view.sentence) })));
    const template = menuTemplate(core.menu(), view.locale, onAction);
    const key = JSON.stringify(template.map(({ label, enabled, type }) => [label, enabled, type]));
    if (key !== lastMenu) {
      lastMenu = key;
      tray.setContextMenu(Menu.buildFromTemplate(template));
    }
    if (win && !win.isDestroyed()) win.webContents.send(VIEW_CHANNEL, view);
    // A question (PIN, banner, certificate) needs the window even if it was hidden.
    if (view.prompt && !hadPrompt) showWindow();
    hadPrompt = view.prompt !== undefined;
  };

  /** The window's requests: only from our own page, then validated by the bridge host. */
  const onCall = async (event: IpcMainInvokeEvent, method: unknown, params: unknown): Promise<BridgeReply> => {
    const from = event.senderFrame?.url ?? '';
    if (!core || from.split('#')[0] !== rendererUrl)
      return { ok: false, error: { code: ErrorCodes.PERMISSION, message: 'request from an unexpected page' } };
    return handleBridge(core.handlers, method, params);
  };

  const quit = async (): Promise<void> => {
    quitting = true;
    await core?.stop();
    tray?.destroy();
    app.quit();
  };

  app.on('second-instance', () => showWindow());
  app.on('web-contents-created', (_event, contents) => hardenContents(contents));
  // The tray lives on without windows.
  app.on('window-all-closed', () => undefined);
  app.on('before-quit', () => {
    quitting = true;
  });

  const ready = app.whenReady().then(() => {
    hardenSession(session.defaultSession);
    const locale = pickLocale(app.getLocale() || opts.env['LANG']);
    const settings = new SettingsStore(settingsPathFrom(opts.env));
    const c = createTrayApp({
      locale,
      socketPath: socketFromEnv(opts.env),
      clientVersion: `tandem-tray/${app.getVersion()}`,
      version: app.getVersion(),
      facts: () => ({
        'Desktop notifications': Notification.isSupported() ? 'supported' : 'not supported',
        Packaged: app.isPackaged ? 'yes' : 'no',
      }),
      allowNonRootOwner: opts.argv.includes('--allow-non-root-agent'),
      settings,
      downloadsDir: () => downloadsDirFrom(opts.env),
      ...opts.core,
    });
    core = c;
    tray = new Tray(nativeImage.createFromPath(iconPath(opts.appDir, c.view().icon)));
    tray.on('click', () => showWindow());
    ipcMain.handle(CALL_CHANNEL, onCall);
    c.onView(draw);
    c.onNotification((n) => {
      if (!Notification.isSupported()) return;
      const l = c.view().locale;
      new Notification({ title: translate(l, n.title), body: translate(l, n.body) }).show();
    });
    draw(c.view());
    c.start();
    if (app.isPackaged) {
      const execPath = opts.env['APPIMAGE'] || process.execPath;
      try {
        setAutostart(settings.get().autostart ?? true, {
          platform: process.platform,
          env: opts.env,
          execPath,
          loginItems: app,
        });
      } catch {
        // Starting at login is a convenience; the tray works without it.
      }
    }
    if (!opts.argv.includes('--hidden')) showWindow();
  });

  return { ready, core: () => core, window: () => win, showWindow, quit };
}
