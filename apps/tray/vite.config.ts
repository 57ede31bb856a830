/**
 * Builds the tray's window (src/renderer) into dist/renderer with Vite. JSX is compiled by
 * Vite's own transformer (Oxc) with Preact's automatic runtime, so no framework plugin is needed.
 * The output is a static page with one script and one stylesheet loaded from 'self': no inline
 * code, matching the Content-Security-Policy in index.html.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('./src/renderer'),
  // Relative URLs: Electron loads the page from disk or a custom protocol, the tests from http.
  base: './',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('./dist/renderer'),
    emptyOutDir: true,
    target: 'es2024',
    // The polyfill would be the only code beyond ours; Electron's Chromium has modulepreload.
    modulePreload: { polyfill: false },
    // Small enough that inlining assets as data: URLs is never needed (img-src allows it anyway).
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
