/**
 * The tray's application directory as electron-builder packs it into app.asar: the main process
 * and the preload bundled by esbuild (our workspaces inlined — npm's workspace links are
 * symlinks electron-builder copies badly), the Vite-built window, the tray icons, a minimal
 * package.json, and the third-party packages the bundle loads under node_modules.
 *
 * The layout is the one the main process expects under its app directory (apps/tray/src/main/
 * main.ts: `dist/main/main.js`, `dist/preload/preload.cjs`, `dist/renderer/index.html`,
 * `assets/tray-<state>.png`), so the packaged app runs the same code paths as a checkout.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleNode } from '../lib/bundle-node.mjs';
import { runtimeClosure } from './closure.mjs';
import { copyPackage, walk } from './layout.mjs';

const TRAY = 'apps/tray';
/**
 * Electron 45's embedded Node is older than the Node 24 the rest of the project runs on; the
 * bundle is lowered to Node 22 syntax so it never relies on a newer engine than Electron's.
 */
const TARGET = 'node22';

/**
 * The workspace directories whose code the bundle inlined (from esbuild's metafile), but the
 * tray itself: its own third-party dependency (Preact) is the window's, already in Vite's output.
 */
function inlinedWorkspaces(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(packages|apps)\/([^/]+)\//.exec(input);
    if (m && `${m[1]}/${m[2]}` !== TRAY) dirs.add(`${m[1]}/${m[2]}`);
  }
  return [...dirs].sort();
}

/** Bare package names the bundle imports (node: built-ins and `electron`, which Electron provides, aside). */
function bundleImports(metafile) {
  const names = new Set();
  for (const input of Object.values(metafile.inputs))
    for (const imp of input.imports)
      if (imp.external && !imp.path.startsWith('node:') && imp.path !== 'electron')
        names.add(imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0]);
  return [...names].sort();
}

/**
 * Stages the app directory at `appDir` from a built checkout; returns the package names placed
 * under its node_modules.
 * @param {string} root the checkout
 * @param {string} appDir the directory to (re)create
 * @param {{ version: string, description: string, author: { name: string, email: string }, homepage: string }} meta
 * @returns {Promise<string[]>}
 */
export async function stageTrayApp(root, appDir, meta) {
  for (const built of ['dist/main/main.js', 'dist/preload/preload.cjs', 'dist/renderer/index.html'])
    if (!existsSync(join(root, TRAY, built))) throw new Error(`${TRAY}/${built} is missing: run npm run build first`);
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir, { recursive: true });

  // ESM like apps/tray (package.json "type": "module"); one file: the lazily imported
  // certificate code becomes a lazily evaluated part of it.
  const main = await bundleNode(root, [join(root, TRAY, 'dist/main/main.js')], join(appDir, 'dist/main'), {
    format: 'esm',
    target: TARGET,
  });
  // A sandboxed preload is CommonJS and may require only `electron`.
  const preload = await bundleNode(root, [join(root, TRAY, 'dist/preload/preload.cjs')], join(appDir, 'dist/preload'), {
    format: 'cjs',
    target: TARGET,
    outExtension: { '.js': '.cjs' },
  });
  cpSync(join(root, TRAY, 'dist/renderer'), join(appDir, 'dist/renderer'), { recursive: true });
  mkdirSync(join(appDir, 'assets'));
  for (const name of readdirSync(join(root, TRAY, 'assets')).filter((n) => /^tray-[a-z]+(@2x)?\.png$/.test(n)))
    cpSync(join(root, TRAY, 'assets', name), join(appDir, 'assets', name));

  // The third-party packages: the lockfile closure of the workspaces the bundle inlined, laid out
  // as npm laid them out. It includes what the bundle loads through createRequire, which esbuild
  // cannot see (node-forge and pkcs11js, loaded on first use of a .p12 file or a token).
  const packages = runtimeClosure(root, inlinedWorkspaces(main)).filter((e) => !e.workspace && !e.link);
  for (const entry of packages) copyPackage(join(root, entry.path), join(appDir, entry.path));
  const names = packages.map((e) => e.path.slice('node_modules/'.length));
  if (bundleImports(preload).length > 0)
    throw new Error(
      `the tray's preload imports ${bundleImports(preload).join(', ')}: a sandboxed preload gets only electron`,
    );
  const missing = bundleImports(main).filter((n) => !names.includes(n));
  if (missing.length > 0)
    throw new Error(`the tray bundle imports ${missing.join(', ')}, which no dependency declares`);
  for (const [path, st] of walk(join(appDir, 'node_modules'))) {
    if (!st.isFile()) continue;
    // As dh_strip does: symbols and the compiler's notes out (lintian reads the addons).
    if (path.endsWith('.node'))
      execFileSync('/usr/bin/strip', ['--remove-section=.comment', '--remove-section=.note', '--strip-unneeded', path]);
    chmodSync(path, 0o644);
  }

  const version = (name) =>
    JSON.parse(readFileSync(join(appDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  const topLevel = names.filter((n) => !n.includes('/node_modules/'));
  const pkg = {
    name: 'tandem-tray',
    productName: 'Tandem',
    version: meta.version,
    description: meta.description,
    author: meta.author,
    homepage: meta.homepage,
    license: 'Apache-2.0',
    private: true,
    type: 'module',
    main: 'dist/main/main.js',
    // What electron-builder collects into app.asar: every staged package, at its exact version.
    dependencies: Object.fromEntries(topLevel.map((n) => [n, version(n)])),
  };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  checkLoads(appDir, topLevel);
  return names;
}

/**
 * Every staged package resolves from the bundled main's directory as the main process resolves
 * it, to a file inside the staged app, and loads (the N-API addon pkcs11js included) — with this
 * Node in a child process, not with Electron: a file the filters dropped fails here, not on a
 * user's desktop.
 */
function checkLoads(appDir, names) {
  const script = [
    "const { createRequire } = require('node:module');",
    `const req = createRequire(${JSON.stringify(join(appDir, 'dist/main/main.js'))});`,
    `for (const name of ${JSON.stringify(names)}) {`,
    '  const at = req.resolve(name);',
    `  if (!at.startsWith(${JSON.stringify(join(appDir, 'node_modules') + '/')})) throw new Error(name + ' resolves to ' + at);`,
    '  req(name);',
    '}',
  ].join('\n');
  execFileSync(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30_000 });
}
