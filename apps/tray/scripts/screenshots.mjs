#!/usr/bin/env node
/**
 * `npm run tray:screenshots -- --out DIR`: PNG screenshots of the tray's window in its main
 * states, from a real run (tandemd, ocserv and the lab gateway in network namespaces, the tray's
 * core as uid 65534, the built page in Debian's Chromium): apps/tray/test/lib/screenshots.ts.
 * Needs root, ip netns, ocserv, setpriv and /usr/bin/chromium; says what is missing otherwise.
 * The committed ones are in docs/screenshots/ (`npm run tray:screenshots -- --out docs/screenshots`).
 */
import '../../../scripts/require-node.mjs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadHarness } from './harness.mjs';

const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || !values.out) {
  console.log('Usage: npm run tray:screenshots -- --out DIR   (writes DIR/tray-<state>.png)');
  process.exit(values.help ? 0 : 64);
}
const { realLabMissing, takeScreenshots } = await loadHarness('screenshots.ts');
if (realLabMissing) {
  console.error(`tray:screenshots: ${realLabMissing}. Nothing was written.`);
  process.exit(1);
}
try {
  const paths = await takeScreenshots(resolve(values.out), (line) => console.error(`tray:screenshots: ${line}`));
  console.log(paths.join('\n'));
} catch (err) {
  console.error(`tray:screenshots: FAILED: ${err.stack ?? err.message}`);
  process.exitCode = 1;
}
