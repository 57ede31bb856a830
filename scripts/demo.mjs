#!/usr/bin/env node
// Tandem demo narrator. Run with `npm run demo` (which builds first). Step 1 checks the shipped
// profiles. As root the demo then builds a namespace lab and tells the machine-tunnel story
// (scripts/demo/story.mjs); without root it runs the steps that need no privileges
// (scripts/demo/unprivileged.mjs). Every program is started with an argument array, never a
// shell string, and everything the demo creates is removed on exit, failure or Ctrl-C.
import './require-node.mjs';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { elapsed, fail, ok, section, warn } from './demo/narrate.mjs';
import { cleanupAll } from './demo/proc.mjs';
import { ROOT, tandem } from './demo/tools.mjs';
import { unprivilegedStory } from './demo/unprivileged.mjs';

/** Every *.xml under dir, sorted, depth-first. */
function xmlFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...xmlFiles(path));
    else if (name.endsWith('.xml')) out.push(path);
  }
  return out;
}

/** Cleans up, prints the verdict and the total time, and returns the exit code. */
async function finish(good, code = 1) {
  section('Clean-up');
  const failed = await cleanupAll();
  for (const f of failed) fail(`clean-up: ${f}`);
  if (failed.length === 0) ok('removed everything the demo created');
  const passed = good && failed.length === 0;
  section(`${passed ? 'Demo finished' : 'Demo FAILED'} in ${(elapsed() / 1000).toFixed(1)} s`);
  return passed ? 0 : code;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    warn(`${sig}: stopping the demo`);
    // The story may still be awaiting a child; clean-up kills it, and we exit from here.
    void finish(false, 130).then((code) => process.exit(code));
  });
}

async function main() {
  section('tandem --version');
  await tandem(['--version']);

  const profiles = xmlFiles(join(ROOT, 'profiles')).map((p) => relative(ROOT, p));
  section(`Step 1: what Tandem understands from the example profiles (${profiles.join(', ')})`);
  const check = await tandem(['profile', 'check', ...profiles], { quiet: false });
  if (check.code !== 0) {
    fail(`profile check exit code: ${check.code} (0 = every profile valid)`);
    return false;
  }
  ok('profile check: every shipped profile is valid (exit 0)');

  if (process.getuid?.() === 0) {
    const { rootStory } = await import('./demo/story.mjs');
    return rootStory();
  }
  return unprivilegedStory({ explainRoot: true });
}

let good = false;
try {
  good = await main();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
if (!interrupted) process.exitCode = await finish(good);
