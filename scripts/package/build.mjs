#!/usr/bin/env node
/**
 * `npm run package`: builds the Debian packages from a built checkout, offline.
 *
 *   dist-pkg/tandem_<version>_amd64.deb   tandemd, tandem, tandem-lab-gateway and their Node
 *                                          runtime under /usr/lib/tandem, the systemd unit,
 *                                          /etc/tandem, man pages and shell completions
 *   dist-pkg/tandem-tray_<version>_amd64.deb   the tray (tray.mjs): Electron from ELECTRON_DIST
 *                                          (an unpacked electron-v45.x-linux-x64.zip; none can be
 *                                          downloaded here) with the bundled app, under
 *                                          /usr/lib/tandem-tray; without ELECTRON_DIST it is
 *                                          skipped, and the build says so and still succeeds
 *   dist-pkg/SHA256SUMS                    of the packages this run built
 *
 * Nothing is fetched: the runtime is the `node` package npm ci installed, the third-party code
 * the run-time closure of package-lock.json (closure.mjs). The agent's .deb is assembled with
 * dpkg-deb (--root-owner-group, xz), the tray's by electron-builder (`linux dir`, electronDist)
 * and electron-installer-debian; `lintian` is run by the tests, not here.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianFiles } from './debian.mjs';
import { selfCheck, stageRuntime, treeSize } from './layout.mjs';
import { buildTray } from './tray.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = resolve(process.env['TANDEM_PACKAGE_OUT'] ?? join(ROOT, 'dist-pkg'));
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

function say(line) {
  process.stdout.write(`package: ${line}\n`);
}

for (const built of [
  'apps/agent/dist/main.js',
  'apps/cli/bundle/inputs.json',
  'packages/fdpoll/build/Release',
  'packages/dtls/build/Release',
]) {
  if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first`);
}
mkdirSync(OUT, { recursive: true });
const stage = join(OUT, `tandem_${version}_amd64`);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const runtime = stageRuntime(ROOT, stage);
selfCheck(stage);
say(
  `runtime Node ${runtime}, ${(treeSize(join(stage, 'usr/lib/tandem')) / 1048576).toFixed(1)} MiB under /usr/lib/tandem`,
);

// Commands, the unit, configuration, documentation.
const install = (from, to, mode) => {
  mkdirSync(dirname(join(stage, to)), { recursive: true });
  cpSync(join(ROOT, from), join(stage, to));
  chmodSync(join(stage, to), mode);
};
// The commands are links to the launchers, whose shebang names the bundled runtime.
const link = (target, at) => {
  mkdirSync(dirname(join(stage, at)), { recursive: true });
  symlinkSync(target, join(stage, at));
};
link('../lib/tandem/apps/cli/bin/tandem.js', 'usr/bin/tandem');
link('../lib/tandem/apps/lab-gateway/bin/tandem-lab-gateway.js', 'usr/bin/tandem-lab-gateway');
link('../lib/tandem/apps/agent/bin/tandemd.js', 'usr/sbin/tandemd');
install('packaging/systemd/tandemd.service', 'lib/systemd/system/tandemd.service', 0o644);
install('packaging/tmpfiles/tandem.conf', 'usr/lib/tmpfiles.d/tandem.conf', 0o644);
install('packaging/etc/example-profile.xml', 'etc/tandem/example-profile.xml', 0o644);
install('packaging/etc/default-tandemd', 'etc/default/tandemd', 0o644);
install('packaging/debian/copyright', 'usr/share/doc/tandem/copyright', 0o644);
install('packaging/debian/lintian-overrides', 'usr/share/lintian/overrides/tandem', 0o644);
install('README.md', 'usr/share/doc/tandem/README.md', 0o644);
for (const dir of ['etc/tandem/profiles/mgmttun']) mkdirSync(join(stage, dir), { recursive: true, mode: 0o755 });

debianFiles(ROOT, stage, { version });

const deb = join(OUT, `tandem_${version}_amd64.deb`);
rmSync(deb, { force: true });
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
say(`${deb} (${(readFileSync(deb).length / 1048576).toFixed(1)} MiB)`);

const tray = await buildTray(ROOT, OUT, { version, electronDist: process.env['ELECTRON_DIST'] });
say(tray.message);
// What this run built: a tray package left from an earlier run is not vouched for.
const built = [deb, ...(tray.deb ? [tray.deb] : [])].map((p) => relative(OUT, p));
writeFileSync(join(OUT, 'SHA256SUMS'), execFileSync('sha256sum', ['--', ...built], { cwd: OUT }));
