#!/usr/bin/env node
/**
 * `npm run fleet`: the fleet reconnect simulation of issue 17 (packages/engine/test/fleet/, see
 * fleet.ts there for the model and its assumptions). It runs the engine's TypeScript sources, like
 * the unit tests: esbuild bundles the simulation with the `tandem-source` export condition into a
 * temporary directory, so no build is needed and dist/ cannot be stale. Needs no root.
 *
 *   npm run fleet [-- --agents N] [--down S] [--capacity C] [--scenario reset|dpd] [--json] [--help]
 */
import '../scripts/require-node.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { thirdParty } from '../scripts/lib/bundle-node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'tandem-fleet-'));
try {
  const outfile = join(out, 'fleet.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: [resolve(ROOT, 'packages/engine/test/fleet/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    conditions: ['tandem-source'],
    external: thirdParty(ROOT),
    logLevel: 'warning',
  });
  const { main } = await import(pathToFileURL(outfile).href);
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`fleet: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
