/**
 * The tray package (scripts/package/tray.mjs) built for real — esbuild, electron-builder's
 * `linux dir`, electron-installer-debian, dpkg-deb — over a STUB Electron distribution: no
 * Electron binary can be downloaded here, so `electron` is a shell script and the rest dummy
 * files in the places electron-builder and the installer look. What is asserted is the package
 * (control fields, file list, desktop entries, icons, lintian) and the app inside app.asar (the
 * bundled main process loads under Node with a stand-in `electron` module); that the real Electron
 * runs it is not, and cannot be, shown here. The build runs with no network (`unshare -n`) when
 * it can, so a download attempt would fail it.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPackage, extractAll, listPackage, statFile } from '@electron/asar';
import { missing, titled } from '@tandem/testkit';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ELECTRON = (
  JSON.parse(readFileSync(join(ROOT, 'apps/tray/package.json'), 'utf8')) as { devDependencies: { electron: string } }
).devDependencies.electron;
const TRAY_SCRIPT = join(ROOT, 'scripts/package/tray.mjs');
const DEB_NAME = `tandem-tray_${VERSION}_amd64.deb`;
const UNSHARE = '/usr/bin/unshare';
const LINTIAN = '/usr/bin/lintian';
const DPKG_DEB = '/usr/bin/dpkg-deb';
const VALIDATE = '/usr/bin/desktop-file-validate';
/** As root with unshare the build gets a network namespace of its own: no network at all. */
const OFFLINE = process.getuid?.() === 0 && existsSync(UNSHARE);

const skip =
  missing('dpkg-deb', 'dpkg-shlibdeps', 'desktop-file-validate', 'strip') ??
  (existsSync(join(ROOT, 'apps/tray/dist/main/main.js')) &&
  existsSync(join(ROOT, 'apps/cli/dist/local/reference/roff.js'))
    ? null
    : 'needs a built checkout (npm run build)');

/** Runs the tray packaging alone with exactly `env` (plus PATH and HOME). */
async function packageTray(env: Record<string, string>, offline = false): Promise<{ stdout: string }> {
  const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...env };
  const argv = [process.execPath, TRAY_SCRIPT];
  const [cmd, args] = offline ? [UNSHARE, ['-n', ...argv]] : [argv[0]!, argv.slice(1)];
  return run(cmd, args, { cwd: ROOT, env: base, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
}

/** A stand-in for the unpacked electron-v45 zip: the files electron-builder and the installer touch. */
async function stubElectron(dir: string, version = ELECTRON): Promise<void> {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  mkdirSync(join(dir, 'locales'));
  const script = '#!/bin/sh\necho "stub electron $*"\n';
  for (const exe of ['electron', 'chrome-sandbox', 'chrome_crashpad_handler']) {
    writeFileSync(join(dir, exe), script);
    chmodSync(join(dir, exe), 0o755);
  }
  writeFileSync(join(dir, 'version'), version);
  writeFileSync(join(dir, 'LICENSE'), 'Copyright (c) Electron contributors (stub)\n');
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<!doctype html><title>stub</title>\n');
  for (const file of ['locales/en-US.pak', 'locales/de.pak', 'resources.pak', 'icudtl.dat', 'snapshot_blob.bin'])
    writeFileSync(join(dir, file), 'stub\n');
  // Electron's placeholder app; electron-builder reads every archive under resources/.
  const defaultApp = join(dir, 'default_app');
  mkdirSync(defaultApp);
  writeFileSync(join(defaultApp, 'package.json'), '{"name":"electron","main":"main.js"}\n');
  writeFileSync(join(defaultApp, 'main.js'), '\n');
  await createPackage(defaultApp, join(dir, 'resources/default_app.asar'));
  rmSync(defaultApp, { recursive: true });
}

describe.skipIf(skip !== null)(titled('the tandem-tray package over a stub Electron distribution', skip), () => {
  let tmp: string;
  let out: string;
  let deb: string;
  let tree: string;
  let buildLog = '';
  let buildMs = 0;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tandem-tray-pkg-'));
    out = join(tmp, 'out');
    await stubElectron(join(tmp, 'electron'));
    const t0 = Date.now();
    const { stdout } = await packageTray(
      {
        ELECTRON_DIST: join(tmp, 'electron'),
        TANDEM_PACKAGE_OUT: out,
        // Without a network namespace, a download would at least fail fast.
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
      },
      OFFLINE,
    );
    buildMs = Date.now() - t0;
    buildLog = stdout;
    deb = join(out, DEB_NAME);
    tree = join(tmp, 'root');
    mkdirSync(tree);
    await run(DPKG_DEB, ['-x', deb, tree], { timeout: 60_000 });
  }, 240_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`builds the .deb ${OFFLINE ? 'with no network' : '(with the network: not root or no unshare)'}, in well under two minutes`, () => {
    expect(buildLog).toContain(`package: ${deb} (`);
    expect(buildLog).toContain(`Electron ${ELECTRON}`);
    expect(buildMs).toBeLessThan(120_000);
  });

  it('has the control fields: tandem-tray, this version, Depends on tandem and on what Electron links', async () => {
    const field = async (name: string) => (await run(DPKG_DEB, ['-f', deb, name])).stdout.trim();
    expect(await field('Package')).toBe('tandem-tray');
    expect(await field('Version')).toBe(VERSION);
    expect(await field('Architecture')).toBe('amd64');
    expect(await field('Section')).toBe('net');
    const depends = (await field('Depends')).split(/,\s*/);
    expect(depends).toContain(`tandem (= ${VERSION})`);
    for (const lib of ['libgtk-3-0', 'libnss3', 'libgbm1', 'libasound2t64 | libasound2'])
      expect(depends, lib).toContain(lib);
    // From dpkg-shlibdeps over the native addons (the stub's executables are scripts).
    expect(depends.some((d) => /^libc6 \(>= [\d.]+\)$/.test(d))).toBe(true);
    expect((await run(DPKG_DEB, ['-I', deb, 'conffiles'])).stdout).toBe('/etc/xdg/autostart/tandem-tray.desktop\n');
  });

  it('installs the app, the command, the menu and autostart entries, icons, man page and copyright', async () => {
    const listing = (await run(DPKG_DEB, ['-c', deb], { maxBuffer: 16 * 1024 * 1024 })).stdout.split('\n');
    const entry = (path: string) => listing.find((l) => l.endsWith(` ./${path}`) || l.includes(` ./${path} -> `));
    expect(entry('usr/bin/tandem-tray')).toMatch(/^lrwxrwxrwx .* -> \.\.\/lib\/tandem-tray\/tandem-tray$/);
    expect(entry('usr/lib/tandem-tray/tandem-tray')).toMatch(/^-rwxr-xr-x root\/root /);
    expect(entry('usr/lib/tandem-tray/chrome-sandbox')).toMatch(/^-rwsr-xr-x root\/root /);
    for (const path of [
      'usr/lib/tandem-tray/resources/app.asar',
      'usr/lib/tandem-tray/resources/app.asar.unpacked/node_modules/pkcs11js/build/Release/pkcs11.node',
      'usr/lib/tandem-tray/locales/en-US.pak',
      'usr/lib/tandem-tray/LICENSES.chromium.html',
      'usr/share/applications/tandem-tray.desktop',
      'etc/xdg/autostart/tandem-tray.desktop',
      'usr/share/man/man1/tandem-tray.1.gz',
      'usr/share/doc/tandem-tray/copyright',
      'usr/share/doc/tandem-tray/changelog.gz',
      'usr/share/icons/hicolor/scalable/apps/tandem-tray.svg',
    ])
      expect(entry(path), path).toMatch(/^-rw-r--r-- root\/root /);
    const sizes = readdirSync(join(ROOT, 'apps/tray/build/icons')).filter((n) => n.endsWith('.png'));
    expect(sizes.length).toBeGreaterThanOrEqual(6);
    for (const png of sizes) {
      const file = join(tree, 'usr/share/icons/hicolor', png.slice(0, -4), 'apps/tandem-tray.png');
      expect(readFileSync(file).subarray(0, 8).toString('hex'), file).toBe('89504e470d0a1a0a');
    }
    // Electron's placeholder app is not shipped, nor the stub's own LICENSE under the app (it is renamed).
    expect(entry('usr/lib/tandem-tray/resources/default_app.asar')).toBeUndefined();
    expect(readFileSync(join(tree, 'usr/share/doc/tandem-tray/copyright'), 'utf8')).toMatch(/^License: Apache-2\.0$/m);
  });

  it('has menu and autostart entries that desktop-file-validate accepts', async () => {
    for (const file of ['usr/share/applications/tandem-tray.desktop', 'etc/xdg/autostart/tandem-tray.desktop']) {
      const { stdout, stderr } = await run(VALIDATE, [join(tree, file)]);
      expect(stdout + stderr, file).toBe('');
    }
    const menu = readFileSync(join(tree, 'usr/share/applications/tandem-tray.desktop'), 'utf8');
    expect(menu).toMatch(/^Exec=tandem-tray$/m);
    expect(menu).toMatch(/^Icon=tandem-tray$/m);
    expect(menu).toMatch(/^Categories=Network;$/m);
    const autostart = readFileSync(join(tree, 'etc/xdg/autostart/tandem-tray.desktop'), 'utf8');
    expect(autostart).toMatch(/^Exec=\/usr\/bin\/tandem-tray --hidden$/m);
    expect(autostart).toMatch(/^Icon=tandem-tray$/m);
    expect(autostart).not.toMatch(/^Hidden=/m);
  });

  it('packs the bundled main, preload, window and addons into app.asar, and the main process loads', async () => {
    const asar = join(tree, 'usr/lib/tandem-tray/resources/app.asar');
    const files = listPackage(asar, { isPack: false });
    for (const path of [
      '/package.json',
      '/dist/main/main.js',
      '/dist/preload/preload.cjs',
      '/dist/renderer/index.html',
    ])
      expect(files, path).toContain(path);
    expect(files).toContain('/assets/tray-connected.png');
    // Our workspaces are inside the bundle; no workspace link or TypeScript source came along.
    expect(files.filter((f) => f.includes('@tandem') || f.endsWith('.ts'))).toEqual([]);
    expect(statFile(asar, 'node_modules/pkcs11js/build/Release/pkcs11.node')).toMatchObject({ unpacked: true });

    const app = join(tmp, 'app');
    extractAll(asar, app);
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
      main: string;
      type: string;
      version: string;
    };
    expect(pkg).toMatchObject({ main: 'dist/main/main.js', type: 'module', version: VERSION });
    expect(existsSync(join(app, pkg.main))).toBe(true);
    const html = readFileSync(join(app, 'dist/renderer/index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) expect(existsSync(join(app, 'dist/renderer', ref)), ref).toBe(true);

    for (const file of ['dist/main/main.js', 'dist/preload/preload.cjs'])
      await run(process.execPath, ['--check', join(app, file)], { timeout: 30_000 });
    // The lazily loaded dependencies resolve from the bundle, inside the app (the addon unpacked).
    const req = createRequire(join(app, 'dist/main/main.js'));
    expect(req.resolve('pkcs11js')).toBe(join(app, 'node_modules/pkcs11js/index.js'));
    expect(req.resolve('node-forge').startsWith(join(app, 'node_modules/node-forge/'))).toBe(true);
    // The whole module graph loads and runs up to Electron: a stand-in `electron` whose
    // single-instance lock is taken, so the tray quits at once, as a second instance does.
    mkdirSync(join(app, 'node_modules/electron'));
    writeFileSync(
      join(app, 'node_modules/electron/index.js'),
      [
        "exports.app = { requestSingleInstanceLock: () => false, quit: () => console.log('quit: another instance') };",
        ...['BrowserWindow', 'ipcMain', 'Menu', 'nativeImage', 'Notification', 'session', 'Tray'].map(
          (n) => `exports.${n} = {};`,
        ),
        '',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [join(app, pkg.main)], { timeout: 30_000 });
    expect(stdout).toBe('quit: another instance\n');
  });

  it.skipIf(!existsSync(LINTIAN))(
    'passes lintian without errors or warnings',
    async () => {
      const report = await run(LINTIAN, ['--tag-display-limit', '0', deb], { timeout: 120_000 }).then(
        (r) => r.stdout,
        (err: { stdout?: string }) => err.stdout ?? '',
      );
      expect(report.split('\n').filter((l) => /^[EW]: /.test(l))).toEqual([]);
    },
    150_000,
  );
});

describe.skipIf(skip !== null)(titled('the tray packaging step when it cannot build', skip), () => {
  it('without ELECTRON_DIST says what it skipped and why, and succeeds', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tandem-tray-skip-'));
    try {
      const { stdout } = await packageTray({ TANDEM_PACKAGE_OUT: out });
      expect(stdout).toBe(
        `package: ${DEB_NAME} skipped: no Electron distribution (set ELECTRON_DIST=<dir with the electron binary>)\n`,
      );
      expect(readdirSync(out)).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a directory without Electron, or with another Electron version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-tray-bad-'));
    try {
      const env = { ELECTRON_DIST: dir, TANDEM_PACKAGE_OUT: join(dir, 'out') };
      await expect(packageTray(env)).rejects.toThrow(/holds no electron executable/);
      await stubElectron(dir, '44.0.0');
      await expect(packageTray(env)).rejects.toThrow(
        new RegExp(`is Electron 44\\.0\\.0, the tray is built for ${ELECTRON}`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
