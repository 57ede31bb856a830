/**
 * The installed tree under /usr/lib/tandem, staged from a built checkout: the Node runtime the
 * project is built and tested on, our workspaces (compiled JavaScript, launchers, the CLI
 * bundle, the fdpoll addon) and the third-party packages of the run-time closure, with the
 * workspace links npm made (`node_modules/@tandem/x` → `../../packages/x`).
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runtimeClosure } from './closure.mjs';

/** The workspaces whose programs the package installs. */
export const ROOTS = ['apps/agent', 'apps/cli', 'apps/lab-gateway'];

/** What of a workspace is installed: compiled code and launchers, never sources or tests. */
const WORKSPACE_PARTS = ['package.json', 'bin', 'dist', 'bundle', 'build/Release'];

/** Files a run never needs: types, maps, tests, build intermediates, other libcs' builds, CLIs of libraries. */
const UNWANTED = [
  /\.(d\.ts|d\.cts|d\.ts\.map|js\.map|tsbuildinfo)$/,
  /\/(test|tests|\.github)(\/|$)/,
  /\/build\/Release\/(obj\.target|\.deps)(\/|$)/,
  /\/koffi-linux-x64\/musl_x64(\/|$)/,
  /\/koffi\/doc(\/|$)/,
  /\/koffi\/cnoke\.cjs$/,
  /\/koffi\/src\/koffi\/src\/trampolines\.cjs$/, // the generator of koffi's trampolines, a build tool
  /\/fast-xml-parser\/src\/cli(\/|$)/,
];
function wanted(path) {
  return !UNWANTED.some((re) => re.test(path));
}

/** Copies a package or workspace part from the checkout, without nested node_modules and what a run never needs. */
export function copyPackage(src, dst) {
  cpSync(src, dst, {
    recursive: true,
    preserveTimestamps: true,
    filter: (p) => wanted(p) && !p.slice(src.length).split('/').includes('node_modules'),
  });
}

/**
 * Stages `<dest>/usr/lib/tandem` from the checkout at `root`; returns the runtime's version.
 * @param {string} root
 * @param {string} dest the package's root directory
 */
export function stageRuntime(root, dest) {
  const lib = join(dest, 'usr/lib/tandem');
  const node = join(root, 'node_modules/node/bin/node');
  if (!existsSync(node)) throw new Error('node_modules/node/bin/node is missing: run npm ci first');
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (!/^v24\./.test(version)) throw new Error(`the bundled runtime must be Node 24, found ${version}`);
  mkdirSync(join(lib, 'node/bin'), { recursive: true });
  cpSync(node, join(lib, 'node/bin/node'));
  chmodSync(join(lib, 'node/bin/node'), 0o755);

  for (const entry of runtimeClosure(root, ROOTS)) {
    const to = join(lib, entry.path);
    if (entry.link) {
      mkdirSync(dirname(to), { recursive: true });
      symlinkSync(relative(dirname(to), join(lib, entry.link)), to);
    } else if (entry.workspace) {
      for (const part of WORKSPACE_PARTS) {
        const from = join(root, entry.path, part);
        if (existsSync(from)) copyPackage(from, join(to, part));
      }
    } else {
      copyPackage(join(root, entry.path), to);
    }
  }
  const dist = join(lib, 'apps/cli/dist');
  if (existsSync(dist) && existsSync(join(lib, 'apps/cli/bundle'))) {
    // The installed CLI runs its bundle; dist/ would only be the fallback for a stale bundle,
    // and an installed tree never changes under it.
    execFileSync('rm', ['-rf', dist]);
  }
  normalise(lib);
  // The bundle's freshness check compares inputs by mtime, which dpkg keeps to the second only.
  writeFileSync(
    join(lib, 'apps/cli/bundle/inputs.json'),
    `${JSON.stringify({ note: 'installed by a package: nothing to compare', inputs: [] })}\n`,
  );
  return version;
}

/** Our launchers: their `node` is the bundled runtime, named by its path. */
const LAUNCHERS = ['apps/agent/bin/tandemd.js', 'apps/cli/bin/tandem.js', 'apps/lab-gateway/bin/tandem-lab-gateway.js'];
const RUNTIME = '/usr/lib/tandem/node/bin/node';

/**
 * Modes and binaries as Debian wants them: native modules and the runtime stripped of their
 * symbols, shared objects 0644, nothing executable under node_modules (no program there is
 * run directly), and our launchers' shebangs pointing at the bundled runtime (`env -S` keeps
 * their Node flags in one place, the launcher itself).
 */
function normalise(lib) {
  for (const [p, st] of walk(lib)) {
    if (!st.isFile()) continue;
    if (p.endsWith('.node')) execFileSync('strip', ['--strip-unneeded', p]);
    chmodSync(p, 0o644);
  }
  execFileSync('strip', ['--strip-unneeded', join(lib, 'node/bin/node')]);
  chmodSync(join(lib, 'node/bin/node'), 0o755);
  for (const rel of LAUNCHERS) {
    const file = join(lib, rel);
    const text = readFileSync(file, 'utf8');
    const fixed = text
      .replace(/^#!\/usr\/bin\/env -S node /, `#!/usr/bin/env -S ${RUNTIME} `)
      .replace(/^#!\/usr\/bin\/env node\n/, `#!/usr/bin/env -S ${RUNTIME}\n`);
    if (fixed === text) throw new Error(`${rel}: unexpected shebang ${text.split('\n')[0]}`);
    writeFileSync(file, fixed);
    chmodSync(file, 0o755);
  }
}

/**
 * Runs what was staged, with the staged runtime, before it is packed: each native module loads
 * and each program answers --help. A file the closure or the filters dropped fails here, not on
 * an administrator's machine.
 */
export function selfCheck(dest) {
  const lib = join(dest, 'usr/lib/tandem');
  const node = join(lib, 'node/bin/node');
  const load = (spec) =>
    execFileSync(node, ['--input-type=module', '-e', `await import(${JSON.stringify(spec)})`], { cwd: lib });
  // Bare names, resolved from /usr/lib/tandem as the programs resolve them.
  for (const mod of ['koffi', 'pkcs11js', '@tandem/fdpoll', '@tandem/tunnel', '@tandem/diagnostics', '@tandem/dtls'])
    load(mod);
  // The DTLS packet pump is a native addon loaded lazily; load it here, where a miss is cheap.
  execFileSync(node, ['-e', 'require("@tandem/dtls/addon")'], { cwd: lib });
  for (const bin of [
    'apps/cli/bin/tandem.js',
    'apps/agent/bin/tandemd.js',
    'apps/lab-gateway/bin/tandem-lab-gateway.js',
  ])
    execFileSync(node, [join(lib, bin), '--help'], { stdio: 'ignore' });
}

/** Bytes under `dir` (for the build report). */
export function treeSize(dir) {
  let total = 0;
  for (const [, st] of walk(dir)) total += st.size;
  return total;
}

/** Every entry under `dir` but directories (files and links, not followed), with its lstat. */
export function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) yield* walk(p);
    else yield [p, st];
  }
}
