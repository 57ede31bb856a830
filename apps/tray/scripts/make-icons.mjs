/**
 * Draws the tray icons (one per TrayIcon state, 32 px and @2x) from SVG with the installed
 * Chromium and writes them to apps/tray/assets/, and the application icon (the menu entry's,
 * installed under /usr/share/icons/hicolor by the tray package) to apps/tray/build/icons/ at the
 * hicolor theme's sizes plus its SVG. Run once when the design changes; the PNGs are committed so
 * neither a build nor a test needs a browser for them.
 *
 *   node apps/tray/scripts/make-icons.mjs [--chromium /usr/bin/chromium]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({ options: { chromium: { type: 'string', default: '/usr/bin/chromium' } } });
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');
const appOut = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'icons');
/** The hicolor sizes the package installs (scripts/package/tray-deb.mjs reads what is here). */
const APP_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

// A shield in the state's colour with a glyph; the colours stay apart for common colour blindness
// by their glyphs too (check, dots, exclamation mark, bar, house, none).
const SHIELD = 'M16 2 L28 6.5 V15 C28 22.5 22.8 27.6 16 30 C9.2 27.6 4 22.5 4 15 V6.5 Z';
const GLYPHS = {
  connected:
    '<path d="M10 16.5 L14.3 20.8 L22.5 11.5" fill="none" stroke="#fff" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round"/>',
  connecting:
    '<g fill="#fff"><circle cx="10.5" cy="16" r="2.1"/><circle cx="16" cy="16" r="2.1"/><circle cx="21.5" cy="16" r="2.1"/></g>',
  error:
    '<g fill="#fff"><rect x="14.4" y="8.5" width="3.2" height="10.5" rx="1.6"/><circle cx="16" cy="23" r="2"/></g>',
  management: '<rect x="9.5" y="14.4" width="13" height="3.2" rx="1.6" fill="#fff"/>',
  trusted: '<path d="M16 9.5 L23 15.5 H20.8 V22 H11.2 V15.5 H9 Z" fill="#fff"/>',
  disconnected: '',
};
const COLOURS = {
  connected: '#1e8e3e',
  connecting: '#b06000',
  error: '#c5221f',
  management: '#1a73e8',
  trusted: '#00796b',
  disconnected: '#6b7280',
};

const svg = (state) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="100%" height="100%">` +
  `<path d="${SHIELD}" fill="${COLOURS[state]}" stroke="#ffffff" stroke-opacity="0.85" stroke-width="1.2"/>` +
  `${GLYPHS[state]}</svg>`;
// The application: the same shield in the management blue with a keyhole, the same at every size.
const KEYHOLE =
  '<path d="M16 9.5 a3.6 3.6 0 0 1 1.9 6.65 L19.2 22.5 H12.8 L14.1 16.15 A3.6 3.6 0 0 1 16 9.5 Z" fill="#fff"/>';
const appSvg = (size) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="${size}" height="${size}">` +
  `<path d="${SHIELD}" fill="${COLOURS.management}" stroke="#ffffff" stroke-opacity="0.85" stroke-width="1.2"/>` +
  `${KEYHOLE}</svg>`;

const browser = await chromium.launch({ executablePath: values.chromium });
try {
  const page = await browser.newPage();
  mkdirSync(out, { recursive: true });
  for (const state of Object.keys(COLOURS)) {
    for (const [suffix, size] of [
      ['', 32],
      ['@2x', 64],
    ]) {
      await page.setViewportSize({ width: size, height: size });
      await page.setContent(
        `<html><body style="margin:0;background:transparent"><div style="width:${size}px;height:${size}px">${svg(state)}</div></body></html>`,
      );
      const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
      writeFileSync(join(out, `tray-${state}${suffix}.png`), png);
    }
  }
  mkdirSync(appOut, { recursive: true });
  for (const size of APP_SIZES) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<html><body style="margin:0;background:transparent">${appSvg(size)}</body></html>`);
    const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    writeFileSync(join(appOut, `${size}x${size}.png`), png);
  }
  writeFileSync(join(appOut, 'tandem-tray.svg'), `${appSvg(128)}\n`);
} finally {
  await browser.close();
}
console.log(`icons written to ${out} and ${appOut}`);
