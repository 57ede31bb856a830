/**
 * tandem-tray_<version>_amd64.deb from electron-builder's `linux dir` output, with
 * electron-installer-debian: the app under /usr/lib/tandem-tray, /usr/bin/tandem-tray, the menu
 * entry (packaging/tray/tandem-tray.desktop.ejs), hicolor icons (apps/tray/build/icons, drawn by
 * apps/tray/scripts/make-icons.mjs) and the setuid chrome-sandbox are its own steps. Ours, in a
 * subclass of its installer: /etc/xdg/autostart/tandem-tray.desktop (the tray's own autostart
 * entry, see apps/tray/src/main/autostart.ts) as a conffile, our copyright file instead of
 * Electron's LICENSE, tandem-tray(1), the changelog, md5sums, the installed size of what is
 * really packed, and Depends from dpkg-shlibdeps on top of the installer's list.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  closeSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { changelogGz, gz, md5sums } from './debian.mjs';
import { treeSize, walk } from './layout.mjs';
import { trayManPage } from './tray-man.mjs';

/** The package's name: also its command, its directory under /usr/lib, its icon and menu entry. */
export const TRAY_PACKAGE = 'tandem-tray';
const AUTOSTART = `/etc/xdg/autostart/${TRAY_PACKAGE}.desktop`;
const CONFFILES = [AUTOSTART];

/** What the control file says about the package. */
export const TRAY_META = {
  productName: 'Tandem',
  genericName: 'VPN Client',
  description: "Tandem VPN tray: tunnel state, connect and the user's certificates",
  productDescription: [
    'The desktop side of Tandem: a tray icon and a window that show the',
    'tunnel, connect and disconnect through the tandemd agent, answer its',
    'questions (PIN, login banner, certificate choice) and sign with the',
    "user's certificates (files or PKCS#11 tokens) while the user is logged",
    'in. It starts hidden at login (XDG autostart).',
    '',
    'Electron, which it runs on, is part of this package (/usr/lib/tandem-tray).',
  ].join('\n'),
  maintainer: 'Tandem developers <tandem@example.invalid>',
  homepage: 'https://example.invalid/tandem',
};

/**
 * What Electron needs beyond electron-installer-debian's defaults for Electron 45 (GTK 3, libnss3,
 * libnotify, libdrm, libgbm, xcb-dri3, AT-SPI, libsecret, xdg-utils, a trash helper), which it
 * always adds: ALSA, which the electron binary links but the defaults only recommend. libxss1 and
 * libxtst6 are no longer linked since Electron 10 and 11; X11, Cairo, Pango, CUPS, xkbcommon come
 * with libgtk-3-0, NSPR with libnss3. What the binaries really link is added by
 * {@link sharedLibraryDepends}.
 */
const ELECTRON_DEPENDS = ['libasound2t64 | libasound2'];

const DPKG_SHLIBDEPS = '/usr/bin/dpkg-shlibdeps';

/** Whether `path` starts with the ELF magic. */
function isElf(path) {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

/**
 * The Depends of every ELF file under `unpacked` (Electron's executables and libraries, the
 * native addons), as dpkg-shlibdeps derives them from the libraries they link and this
 * machine's dpkg database — the Debian way, and exact for the Electron build actually packed.
 * Electron's own libraries beside the binary (libffmpeg.so…) are private: found with -l, they
 * have no package and are skipped (--ignore-missing-info).
 */
function sharedLibraryDepends(unpacked) {
  const elves = [...walk(unpacked)].filter(([p, st]) => st.isFile() && isElf(p)).map(([p]) => p);
  if (elves.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'tandem-tray-shlibdeps-'));
  try {
    // dpkg-shlibdeps wants a source package around the binaries; a minimal one will do.
    mkdirSync(join(work, 'debian'));
    writeFileSync(
      join(work, 'debian/control'),
      `Source: ${TRAY_PACKAGE}\n\nPackage: ${TRAY_PACKAGE}\nArchitecture: amd64\n`,
    );
    const out = execFileSync(
      DPKG_SHLIBDEPS,
      ['-O', '--warnings=0', '--ignore-missing-info', `-l${unpacked}`, ...elves],
      { cwd: work, encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = /^shlibs:Depends=(.*)$/m.exec(out);
    return line ? line[1].split(', ').filter(Boolean) : [];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The icons: `<size>x<size>.png` and the SVG in apps/tray/build/icons, keyed as the installer wants. */
function icons(root) {
  const dir = join(root, 'apps/tray/build/icons');
  const entries = readdirSync(dir).flatMap((name) => {
    if (name === `${TRAY_PACKAGE}.svg`) return [['scalable', join(dir, name)]];
    return /^\d+x\d+\.png$/.test(name) ? [[name.slice(0, -4), join(dir, name)]] : [];
  });
  return Object.fromEntries(entries);
}

/**
 * Builds the .deb from `unpacked` (electron-builder's linux-unpacked directory) into `out`;
 * returns its path.
 * @param {string} root the checkout
 * @param {string} unpacked
 * @param {string} out
 * @param {{ version: string }} opts
 */
export async function buildTrayDeb(root, unpacked, out, { version }) {
  const { Installer } = await import('electron-installer-debian');
  // The autostart entry is the one the tray writes for a user itself, from the same function.
  const { desktopEntry } = await import(pathToFileURL(join(root, 'apps/tray/dist/main/autostart.js')).href);
  const manPage = await trayManPage(root, version);
  const linked = sharedLibraryDepends(unpacked);

  class TrayInstaller extends Installer {
    get contentFunctions() {
      return [...super.contentFunctions, 'createAutostart', 'createChangelog', 'createManPage'];
    }

    async createManPage() {
      const file = join(this.stagingDir, 'usr/share/man/man1', `${TRAY_PACKAGE}.1.gz`);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, gz(Buffer.from(manPage)), { mode: 0o644 });
    }

    async createAutostart() {
      const file = join(this.stagingDir, AUTOSTART);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, desktopEntry(`/usr/bin/${TRAY_PACKAGE}`), { mode: 0o644 });
    }

    async createChangelog() {
      const file = join(this.stagingDir, 'usr/share/doc', TRAY_PACKAGE, 'changelog.gz');
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, changelogGz(TRAY_PACKAGE, version), { mode: 0o644 });
    }

    /** Ours (the app, Electron, Chromium), not Electron's LICENSE the installer would copy. */
    async createCopyright() {
      const file = join(this.stagingDir, 'usr/share/doc', TRAY_PACKAGE, 'copyright');
      mkdirSync(join(file, '..'), { recursive: true });
      cpSync(join(root, 'packaging/tray/copyright'), file);
      chmodSync(file, 0o644);
    }

    /** The control area's last files, from the finished tree, then dpkg-deb as the installer runs it. */
    async createPackage() {
      const debian = join(this.stagingDir, 'DEBIAN');
      const size = Math.ceil(treeSize(this.stagingDir) / 1024);
      const control = readFileSync(join(debian, 'control'), 'utf8');
      writeFileSync(join(debian, 'control'), control.replace(/^Installed-Size: \d+$/m, `Installed-Size: ${size}`));
      writeFileSync(join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`, { mode: 0o644 });
      writeFileSync(join(debian, 'md5sums'), md5sums(this.stagingDir, CONFFILES), { mode: 0o644 });
      return super.createPackage();
    }
  }

  const installer = new TrayInstaller({
    src: unpacked,
    dest: out,
    arch: 'amd64',
    options: {
      ...TRAY_META,
      name: TRAY_PACKAGE,
      bin: TRAY_PACKAGE,
      version,
      section: 'net',
      priority: 'optional',
      categories: ['Network'],
      icon: icons(root),
      desktopTemplate: join(root, 'packaging/tray/tandem-tray.desktop.ejs'),
      depends: [`tandem (= ${version})`, ...ELECTRON_DEPENDS, ...linked],
      lintianOverrides: lintianOverrides(root),
      compression: 'xz',
    },
    rename: (dest) => join(dest, `${TRAY_PACKAGE}_<%= version %>_<%= arch %>.deb`),
    logger: () => undefined,
  });
  await installer.generateDefaults();
  installer.generateOptions();
  await installer.createStagingDir();
  await installer.createContents();
  await installer.createPackage();
  await installer.movePackage();
  return installer.options.packagePaths[0];
}

/** packaging/tray/lintian-overrides without its comments (each override's reason is there). */
function lintianOverrides(root) {
  return readFileSync(join(root, 'packaging/tray/lintian-overrides'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
}
