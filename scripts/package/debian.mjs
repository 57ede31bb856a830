/**
 * The Debian side of the package: man pages and shell completions (generated from the CLI's
 * command table by gen-docs.mjs), the changelog, and the DEBIAN/ control area — control with
 * the installed size, conffiles, maintainer scripts and md5sums.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';
import { treeSize, walk } from './layout.mjs';

/** Files under /etc the package owns: dpkg keeps an administrator's edits to them. */
const CONFFILES = ['/etc/tandem/example-profile.xml', '/etc/default/tandemd'];

/** Where each generated file goes. */
const GENERATED = [
  ['tandem.1', 'usr/share/man/man1/tandem.1.gz'],
  ['tandemd.8', 'usr/share/man/man8/tandemd.8.gz'],
  ['tandem-lab-gateway.1', 'usr/share/man/man1/tandem-lab-gateway.1.gz'],
  ['bash/tandem', 'usr/share/bash-completion/completions/tandem'],
  ['zsh/_tandem', 'usr/share/zsh/vendor-completions/_tandem'],
  ['fish/tandem.fish', 'usr/share/fish/vendor_completions.d/tandem.fish'],
];

function write(path, data, mode = 0o644) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
  chmodSync(path, mode);
}

/** gzip as Debian wants it: best compression, no name or time in the header (reproducible). */
export const gz = (data) => gzipSync(data, { level: 9 });

/** Regular files under `dir`, relative to it. */
const files = (dir) => [...walk(dir)].filter(([, st]) => st.isFile()).map(([p]) => relative(dir, p));

/**
 * Writes the generated documentation and DEBIAN/ into the staged package at `stage`.
 * @param {string} root the checkout
 * @param {string} stage the package root
 * @param {{ version: string }} opts
 */
export function debianFiles(root, stage, { version }) {
  const gen = join(stage, '..', 'generated');
  execFileSync(process.execPath, [join(root, 'scripts/package/gen-docs.mjs'), gen], { stdio: 'inherit' });
  for (const [from, to] of GENERATED) {
    const data = readFileSync(join(gen, from));
    write(join(stage, to), to.endsWith('.gz') ? gz(data) : data);
  }
  write(join(stage, 'usr/share/doc/tandem/changelog.gz'), changelogGz('tandem', version));

  const debian = join(stage, 'DEBIAN');
  mkdirSync(debian, { recursive: true, mode: 0o755 });
  const sizeKb = Math.ceil(treeSize(stage) / 1024);
  const control = readFileSync(join(root, 'packaging/debian/control.in'), 'utf8')
    .replace('@VERSION@', version)
    .replace('@SIZE_KB@', String(sizeKb));
  write(join(debian, 'control'), control);
  write(join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    cpSync(join(root, 'packaging/debian', script), join(debian, script));
    chmodSync(join(debian, script), 0o755);
  }
  write(join(debian, 'md5sums'), md5sums(stage, CONFFILES));
}

/**
 * The Debian changelog of a package built from this tree (`/usr/share/doc/<pkg>/changelog.gz`),
 * gzipped reproducibly.
 * @param {string} pkg the package name
 * @param {string} version
 */
export function changelogGz(pkg, version) {
  const changelog = [
    `${pkg} (${version}) unstable; urgency=medium`,
    '',
    '  * Built from the Tandem source tree by npm run package.',
    '',
    ` -- Tandem developers <tandem@example.invalid>  ${new Date(0).toUTCString().replace('GMT', '+0000')}`,
    '',
  ].join('\n');
  return gz(Buffer.from(changelog));
}

/**
 * DEBIAN/md5sums of the staged package at `stage`: every regular file but the control area and
 * the conffiles (dpkg tracks those itself).
 * @param {string} stage the package root
 * @param {string[]} conffiles absolute paths, as in DEBIAN/conffiles
 */
export function md5sums(stage, conffiles) {
  const sums = files(stage)
    .filter((f) => !f.startsWith('DEBIAN/') && !conffiles.includes(`/${f}`))
    .sort()
    .map(
      (f) =>
        `${createHash('md5')
          .update(readFileSync(join(stage, f)))
          .digest('hex')}  ${f}`,
    );
  return `${sums.join('\n')}\n`;
}
