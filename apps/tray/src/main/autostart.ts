/**
 * Starting at login: on Linux an XDG autostart entry (`~/.config/autostart/tandem-tray.desktop`)
 * that runs the tray with `--hidden`; elsewhere Electron's login item settings. Only a packaged
 * tray registers itself — a development run must not leave an entry behind.
 *
 * The tandem-tray package also installs `/etc/xdg/autostart/tandem-tray.desktop` (written with
 * {@link desktopEntry} too). A user's file of the same name replaces it, so turning start at
 * login off (`"autostart": false` in the settings) writes an entry with `Hidden=true` (the XDG
 * Autostart specification's "deleted") instead of removing the user's file, which would let the
 * system entry start the tray again.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { writeFileAtomic } from '@tandem/common/safe-fs';

/** The autostart entry's file name. */
export const AUTOSTART_FILE = 'tandem-tray.desktop';

/** `$XDG_CONFIG_HOME/autostart/tandem-tray.desktop` (`~/.config` when unset). */
export function autostartPath(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'autostart', AUTOSTART_FILE);
}

/** One argument of an `Exec` line, quoted as the Desktop Entry specification asks. */
function execArg(arg: string): string {
  if (/^[A-Za-z0-9_/.+,=:@-]+$/.test(arg)) return arg;
  return `"${arg.replace(/(["`$\\])/g, '\\$1')}"`;
}

/** The icon the tandem-tray package installs under /usr/share/icons/hicolor. */
export const ICON_NAME = 'tandem-tray';

/** The autostart entry that starts `execPath --hidden` at login, or (`enabled` false) hides a system-wide one. */
export function desktopEntry(execPath: string, enabled = true): string {
  if (/[\0\r\n]/.test(execPath)) throw new TandemError(ErrorCodes.USAGE, 'the tray path contains a line break');
  // Quoting first, then the string escape of the value (backslashes doubled), and % for field codes.
  const exec = [execPath, '--hidden'].map(execArg).join(' ').replace(/\\/g, '\\\\').replace(/%/g, '%%');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Tandem VPN',
    'Comment=Tandem VPN tray',
    `Exec=${exec}`,
    `Icon=${ICON_NAME}`,
    'Terminal=false',
    ...(enabled ? [] : ['Hidden=true']),
    `X-GNOME-Autostart-enabled=${enabled}`,
    '',
  ].join('\n');
}

/** The part of Electron's `app` used off Linux. */
export interface LoginItems {
  setLoginItemSettings(settings: { openAtLogin: boolean; openAsHidden?: boolean; args?: string[] }): void;
}

/** Where and how to register. */
export interface AutostartOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The program to start (an AppImage's own path, not the mounted binary). */
  execPath: string;
  loginItems: LoginItems;
}

/** Turns start-at-login on or off. */
export function setAutostart(enabled: boolean, opts: AutostartOptions): void {
  if (opts.platform !== 'linux') {
    opts.loginItems.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true, args: ['--hidden'] });
    return;
  }
  const path = autostartPath(opts.env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileAtomic(path, desktopEntry(opts.execPath, enabled), 0o644);
}
