#!/usr/bin/env node
/**
 * The tray's own package, dist-pkg/tandem-tray_<version>_amd64.deb, over an Electron
 * distribution the caller provides (ELECTRON_DIST: the unpacked electron-v45.x-linux-x64.zip,
 * an `electron` executable, `version`, `resources/`, `locales/`…). Electron's binary is a
 * download the build machine cannot make, so without ELECTRON_DIST the step is skipped and says
 * so; everything else is built regardless.
 *
 *   1. tray-app.mjs: the app directory — main process and preload bundled by esbuild, the
 *      Vite-built window, the tray icons, the third-party packages the bundle loads.
 *   2. electron-builder's `linux dir` target over it with `electronDist` (and the pinned
 *      `electronVersion`): Electron copied, renamed `tandem-tray`, the app packed into
 *      resources/app.asar (native addons beside it in app.asar.unpacked). Nothing downloaded:
 *      no rebuild of native modules (pkcs11js is N-API, built by npm ci for any runtime).
 *   3. tray-deb.mjs: electron-installer-debian over that directory.
 *
 * Run by scripts/package/build.mjs, or alone (the tray only, no agent package):
 *   ELECTRON_DIST=/opt/electron-v45.6.1-linux-x64 node scripts/package/tray.mjs
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageTrayApp } from './tray-app.mjs';
import { buildTrayDeb, TRAY_META, TRAY_PACKAGE } from './tray-deb.mjs';

/** The Electron version the tray is written and typed against (apps/tray's devDependency). */
export function electronVersion(root) {
  return JSON.parse(readFileSync(join(root, 'apps/tray/package.json'), 'utf8')).devDependencies.electron;
}

/** Why `dir` cannot be used as the Electron distribution, or null. */
function unusable(dir, wanted) {
  const electron = join(dir, 'electron');
  if (!existsSync(electron) || !(statSync(electron).mode & 0o111)) return `${dir} holds no electron executable`;
  if (!existsSync(join(dir, 'version'))) return `${dir} has no version file (not an Electron distribution?)`;
  const found = readFileSync(join(dir, 'version'), 'utf8').trim().replace(/^v/, '');
  if (found !== wanted) return `${dir} is Electron ${found}, the tray is built for ${wanted} (apps/tray/package.json)`;
  return null;
}

/**
 * Builds the tray package when it can: `deb` is its path, or null when skipped; `message` one
 * line saying what happened. A given but unusable ELECTRON_DIST is an error, not a skip.
 * @param {string} root the checkout
 * @param {string} out where the .deb goes (work directories beside it)
 * @param {{ version: string, electronDist?: string }} opts
 * @returns {Promise<{ deb: string | null, message: string }>}
 */
export async function buildTray(root, out, { version, electronDist }) {
  const deb = `${TRAY_PACKAGE}_${version}_amd64.deb`;
  if (!electronDist)
    return {
      deb: null,
      message: `${deb} skipped: no Electron distribution (set ELECTRON_DIST=<dir with the electron binary>)`,
    };
  const dist = resolve(electronDist);
  const wanted = electronVersion(root);
  const why = unusable(dist, wanted);
  if (why) throw new Error(`tandem-tray: ${why}`);

  const appDir = join(out, `${TRAY_PACKAGE}_app`);
  const builderOut = join(out, `${TRAY_PACKAGE}_builder`);
  mkdirSync(out, { recursive: true });
  rmSync(join(out, deb), { force: true });
  rmSync(builderOut, { recursive: true, force: true });
  const started = Date.now();
  await stageTrayApp(root, appDir, {
    version,
    description: TRAY_META.description,
    author: { name: 'Tandem developers', email: 'tandem@example.invalid' },
    homepage: TRAY_META.homepage,
  });

  const { default: builder } = await import('electron-builder');
  await builder.build({
    projectDir: appDir,
    targets: builder.Platform.LINUX.createTarget('dir', builder.Arch.x64),
    publish: 'never',
    config: {
      appId: 'org.tandem.tray',
      productName: TRAY_META.productName,
      electronVersion: wanted,
      electronDist: dist,
      // Nothing to rebuild or download: the addons are N-API, the app's code is bundled.
      npmRebuild: false,
      nodeGypRebuild: false,
      buildDependenciesFromSource: false,
      directories: { output: builderOut, buildResources: join(root, 'apps/tray/build') },
      asar: true,
      linux: { executableName: TRAY_PACKAGE, category: 'Network' },
    },
  });
  const unpacked = join(builderOut, 'linux-unpacked');
  // Electron's placeholder app, shown when no app is given; ours is resources/app.asar.
  rmSync(join(unpacked, 'resources/default_app.asar'), { force: true });

  const built = await buildTrayDeb(root, unpacked, out, { version });
  const mib = (statSync(built).size / 1048576).toFixed(1);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  return { deb: built, message: `${built} (${mib} MiB, Electron ${wanted} from ${dist}, ${seconds} s)` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const out = resolve(process.env['TANDEM_PACKAGE_OUT'] ?? join(root, 'dist-pkg'));
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const { message } = await buildTray(root, out, { version, electronDist: process.env['ELECTRON_DIST'] });
  process.stdout.write(`package: ${message}\n`);
}
