#!/usr/bin/env node
/**
 * Second half of `npm run build`: bundles the compiled CLI (apps/cli/dist, what `tsc -b` just
 * wrote and what the tests type-check) into apps/cli/bundle, one chunk per lazily loaded
 * command. Loading ~100 ES modules one by one costs Node ~35 ms of resolution and file I/O on
 * every `tandem` start; a connect is timed from process start (issue 5), so that matters.
 *
 * Next to the chunks goes inputs.json: every input file with its size and mtime, so the
 * launcher (bin/tandem.js) can tell a bundle older than dist/ and fall back to dist/ instead of
 * running stale code.
 */
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = resolve(ROOT, 'apps/cli');
const OUT = resolve(CLI, 'bundle');

/**
 * Every installed package except our own workspaces stays external: they load from
 * node_modules exactly as under dist/. Native addons (koffi, pkcs11js) must, CommonJS ones
 * (node-forge, the @peculiar ASN.1 stack) change their export shape and load order when
 * re-wrapped, and none of them is on the path of a connect.
 */
function thirdParty() {
  const modules = resolve(ROOT, 'node_modules');
  return readdirSync(modules)
    .filter((n) => n !== '@tandem' && !n.startsWith('.'))
    .map((n) => (n.startsWith('@') ? `${n}/*` : n))
    .flatMap((n) => (n.endsWith('/*') ? [n] : [n, `${n}/*`]));
}

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [resolve(CLI, 'dist/main.js')],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // Whitespace and syntax only: names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  external: thirdParty(),
  metafile: true,
  logLevel: 'warning',
});

// Our own compiled files (~120 stats at start-up, under 1 ms): third-party code is not inside.
const inputs = Object.keys(result.metafile.inputs).map((file) => {
  const abs = resolve(ROOT, file);
  const st = statSync(abs);
  return [relative(OUT, abs), st.size, st.mtimeMs];
});
writeFileSync(
  resolve(OUT, 'inputs.json'),
  `${JSON.stringify({ note: 'written by scripts/bundle-cli.mjs; bin/tandem.js compares these with the files to detect a stale bundle', inputs })}\n`,
);
const chunks = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
if (process.env.TANDEM_BUNDLE_VERBOSE)
  console.error(`bundle-cli: ${inputs.length} inputs → ${chunks} chunks in ${relative(ROOT, OUT)}`);
