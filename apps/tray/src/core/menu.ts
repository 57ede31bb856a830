/**
 * The tray icon's context menu as data: a pure function of the view, so every state's menu is
 * tested without Electron; the glue only translates labels and turns items into native ones.
 */
import type { Message, TrayView } from './bridge.js';
import { msg } from './i18n.js';

/** What choosing a menu item does. */
export type MenuAction =
  | { kind: 'connect'; host: string }
  | { kind: 'disconnect' }
  | { kind: 'show' }
  | { kind: 'diagnostics' }
  | { kind: 'quit' };

/** One item of the menu; `separator` items have no label. */
export type MenuItem = { kind: 'item'; label: Message; enabled: boolean; action: MenuAction } | { kind: 'separator' };

/** Hosts beyond this many are reached from the window: a menu taller than the screen helps nobody. */
export const MENU_HOSTS_MAX = 20;

/** Whether a diagnostic bundle is being built (its menu item waits for it). */
export const bundleRunning = (view: TrayView): boolean =>
  view.diagnostics !== undefined && view.diagnostics.phase !== 'done' && view.diagnostics.phase !== 'failed';

/** The menu for `view`: connect to each host, disconnect, show window, create a diagnostic bundle, quit. */
export function trayMenu(view: TrayView): MenuItem[] {
  const item = (label: Message, action: MenuAction, enabled = true): MenuItem => ({
    kind: 'item',
    label,
    enabled,
    action,
  });
  const hosts = view.hosts
    .slice(0, MENU_HOSTS_MAX)
    .map((h) => item(msg('menu.connectTo', { host: h.name }), { kind: 'connect', host: h.name }, view.canConnect));
  return [
    ...hosts,
    item(msg('menu.disconnect'), { kind: 'disconnect' }, view.canDisconnect),
    { kind: 'separator' },
    item(msg('menu.show'), { kind: 'show' }),
    bundleRunning(view)
      ? item(msg('menu.diagnosticsRunning'), { kind: 'diagnostics' }, false)
      : item(msg('menu.diagnostics'), { kind: 'diagnostics' }, view.agent === 'up'),
    { kind: 'separator' },
    item(msg('menu.quit'), { kind: 'quit' }),
  ];
}
