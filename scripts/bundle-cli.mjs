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
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleNode } from './lib/bundle-node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = resolve(ROOT, 'apps/cli');
const OUT = resolve(CLI, 'bundle');

rmSync(OUT, { recursive: true, force: true });
const metafile = await bundleNode(ROOT, [resolve(CLI, 'dist/main.js')], OUT, {
  splitting: true,
  format: 'esm',
  target: 'node24',
  sourcemap: 'linked',
});

// Our own compiled files (~120 stats at start-up, under 1 ms): third-party code is not inside.
const inputs = Object.keys(metafile.inputs).map((file) => {
  const abs = resolve(ROOT, file);
  const st = statSync(abs);
  return [relative(OUT, abs), st.size, st.mtimeMs];
});
writeFileSync(
  resolve(OUT, 'inputs.json'),
  `${JSON.stringify({ note: 'written by scripts/bundle-cli.mjs; bin/tandem.js compares these with the files to detect a stale bundle', inputs })}\n`,
);
const chunks = Object.keys(metafile.outputs).filter((f) => f.endsWith('.js')).length;
if (process.env.TANDEM_BUNDLE_VERBOSE)
  console.error(`bundle-cli: ${inputs.length} inputs → ${chunks} chunks in ${relative(ROOT, OUT)}`);
