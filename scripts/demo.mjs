#!/usr/bin/env node
// Tandem demo narrator. Run with `npm run demo` (which builds first). Each step says what it
// shows, runs the real `tandem` binary with an argument array (never a shell string), and
// prints its output. Later issues add steps below the profile step.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tandem = join(root, 'apps/cli/bin/tandem.js');

function say(text) {
  process.stdout.write(`\n=== ${text}\n`);
}

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

async function tandemCli(args) {
  try {
    const { stdout, stderr } = await run(process.execPath, [tandem, ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) };
  }
}

say('tandem --version');
process.stdout.write((await tandemCli(['--version'])).stdout);

const profiles = xmlFiles(join(root, 'profiles')).map((p) => relative(root, p));
say(`Step 1: what Tandem understands from the example profiles (${profiles.join(', ')})`);
const check = await tandemCli(['profile', 'check', ...profiles]);
process.stdout.write(check.stdout);
process.stderr.write(check.stderr);
say(`profile check exit code: ${check.code} (0 = every profile valid)`);
if (check.code !== 0) process.exitCode = 1;
