/**
 * How we bundle compiled JavaScript that runs on Node (the CLI, scripts/bundle-cli.mjs) or in
 * Electron's main and preload processes (the tray package, scripts/package/tray-app.mjs): our
 * workspaces are inlined, every third-party package stays an import resolved from node_modules.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

/**
 * Every installed package except our own workspaces stays external: they load from
 * node_modules exactly as under dist/. Native addons (koffi, pkcs11js) must, CommonJS ones
 * (node-forge, the @peculiar ASN.1 stack) change their export shape and load order when
 * re-wrapped, and none of them is on the path of a connect.
 * @param {string} root the checkout
 * @returns {string[]} esbuild `external` patterns
 */
export function thirdParty(root) {
  const modules = resolve(root, 'node_modules');
  return readdirSync(modules)
    .filter((n) => n !== '@tandem' && !n.startsWith('.'))
    .map((n) => (n.startsWith('@') ? `${n}/*` : n))
    .flatMap((n) => (n.endsWith('/*') ? [n] : [n, `${n}/*`]));
}

/**
 * Bundles `entryPoints` (compiled files under `root`) into `outdir` with our common settings:
 * platform node, third-party packages external, whitespace and syntax minified only (names stay
 * readable in stack traces). `options` adds or overrides esbuild options (format, splitting,
 * target, sourcemap, outExtension…).
 * @param {string} root the checkout
 * @param {string[]} entryPoints
 * @param {string} outdir
 * @param {import('esbuild').BuildOptions} [options]
 * @returns {Promise<import('esbuild').Metafile>}
 */
export async function bundleNode(root, entryPoints, outdir, options = {}) {
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    minifyWhitespace: true,
    minifySyntax: true,
    external: thirdParty(root),
    metafile: true,
    logLevel: 'warning',
    ...options,
  });
  return result.metafile;
}
