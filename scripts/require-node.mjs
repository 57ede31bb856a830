/**
 * Imported first by the repository's Node entry points that people start (bench/run.mjs and
 * scripts/demo.mjs): they run on the Node pinned as the `node` devDependency, which npm
 * scripts find first in PATH. Started by hand with the system's Node (often older), they stop
 * here with the command that works instead of failing later on a missing API.
 */
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pinned = manifest.devDependencies.node;
if (process.versions.node.split('.')[0] !== pinned.split('.')[0]) {
  const script = process.argv[1] ?? 'this script';
  console.error(`${script}: Tandem runs on Node ${pinned} (the \`node\` devDependency), not ${process.version}.`);
  console.error('Run it through npm (npm run bench, npm run demo), or as node_modules/.bin/node SCRIPT after npm ci.');
  process.exit(1);
}
