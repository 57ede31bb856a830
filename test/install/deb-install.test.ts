/**
 * The package on a fresh Debian 12, not on the build machine (issue 15's must-show): a minimal
 * root made by mmdebstrap, the .deb installed with apt-get (its dependencies from Debian), then
 * booted with systemd as PID 1 by systemd-nspawn inside the test's client namespace, where real
 * ocserv is the machine tunnel's gateway. Run by `npm run test:install` (and .ci/run), after
 * `npm run package`; it needs root, the network to Debian's mirror, mmdebstrap,
 * systemd-nspawn, lintian and ocserv.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, standardLab, titled, type Lab } from '@tandem/testkit';
import { NetnsLab } from '../lib/netns.js';
import { startOcserv, type Ocserv } from '../fixtures/ocserv.js';
import { mgmtProfile } from '../fixtures/agent/lab-profiles.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEB = join(ROOT, 'dist-pkg', `tandem_${VERSION}_amd64.deb`);
const skip =
  missing('root', 'netns', 'ocserv') ??
  (['/usr/bin/mmdebstrap', '/usr/bin/systemd-nspawn', '/usr/bin/lintian'].find((b) => !existsSync(b))
    ? 'needs mmdebstrap, systemd-container and lintian (apt-get install mmdebstrap systemd-container lintian)'
    : !existsSync(DEB)
      ? `needs ${DEB}: run npm run package first (npm run test:install does)`
      : null);

describe.skipIf(skip !== null)(titled('the .deb on a fresh Debian 12 booted with systemd', skip), () => {
  const lab = new NetnsLab('tin', [240, 9]);
  let pki: Lab;
  let ocserv: Ocserv;
  let tmp: string;
  let rootfs: string;
  let boot: ChildProcess | null = null;
  let leader = 0;
  let console = '';

  /** Runs a command inside the booted container (all its namespaces). */
  async function inside(args: string[], opts: { uid?: number; ok?: boolean } = {}): Promise<string> {
    const as = opts.uid ? ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'] : [];
    try {
      const { stdout } = await run('nsenter', ['-t', String(leader), '-a', ...as, ...args], { timeout: 60_000 });
      return stdout;
    } catch (err) {
      if (opts.ok === false) return (err as { stdout?: string }).stdout ?? '';
      throw new Error(`${args.join(' ')}: ${(err as Error).message}\n${console.slice(-2000)}`, { cause: err });
    }
  }

  async function until(what: string, pred: () => Promise<boolean>, ms = 60_000): Promise<number> {
    const t0 = Date.now();
    while (!(await pred().catch(() => false))) {
      if (Date.now() - t0 > ms) throw new Error(`${what} not reached in ${ms} ms\n${console.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return Date.now() - t0;
  }

  beforeAll(async () => {
    await lab.create();
    pki = await standardLab('tin');
    ocserv = await startOcserv(lab, pki, { pool: '10.240.110.0/24', device: 'tinv', dpd: 10, keepalive: 10 });
    tmp = mkdtempSync('/var/tmp/tandem-install-');
    rootfs = join(tmp, 'root');
    copyFileSync(DEB, join(tmp, 'tandem.deb'));
    // The package goes in with apt-get, so its dependencies come from Debian like on any machine.
    await run(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--include=systemd,systemd-sysv,dbus',
        `--customize-hook=copy-in ${join(tmp, 'tandem.deb')} /root`,
        '--customize-hook=chroot "$1" apt-get install -y /root/tandem.deb',
        'bookworm',
        rootfs,
      ],
      { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
    );
    // What an administrator provides: the machine tunnel profile, the machine certificate, the
    // gateways' CA, and the gateway's name (no DNS in the lab).
    writeFileSync(join(rootfs, 'etc/tandem/profiles/mgmttun/VpnMgmtTunProfile.xml'), mgmtProfile());
    writeFileSync(join(rootfs, 'etc/tandem/certs/machine/machine.crt'), pki.machine.certPem + pki.intermediate.certPem);
    writeFileSync(join(rootfs, 'etc/tandem/certs/machine/machine.key'), pki.machine.keyPem, { mode: 0o600 });
    writeFileSync(join(rootfs, 'etc/tandem/gateway-ca.pem'), readFileSync(pki.caFile));
    writeFileSync(join(rootfs, 'etc/default/tandemd'), 'TANDEMD_OPTS="--gateway-ca /etc/tandem/gateway-ca.pem"\n');
    writeFileSync(join(rootfs, 'etc/hosts'), `127.0.0.1 localhost\n${lab.srvAddr} vpn.lab.test\n`);
    boot = spawn(
      'systemd-nspawn',
      [
        ...['-D', rootfs, '--register=no', '--keep-unit', '-q', '-b'],
        // The client namespace of the lab (its routes lead to ocserv), and a TUN device to open.
        `--network-namespace-path=/run/netns/${lab.cli}`,
        '--bind=/dev/net/tun',
        // As on a real machine: tandemd's unit bounds it to CAP_NET_ADMIN, which the container must have.
        '--capability=CAP_NET_ADMIN',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    boot.stdout!.on('data', (d: Buffer) => (console += d.toString()));
    boot.stderr!.on('data', (d: Buffer) => (console += d.toString()));
    await until('container PID 1', async () => {
      const { stdout } = await run('pgrep', ['-P', String(boot!.pid), '-x', 'systemd']);
      leader = Number(stdout.trim().split('\n')[0]);
      return leader > 0;
    });
    await until('multi-user.target', async () =>
      /^(running|degraded)/.test(await inside(['systemctl', 'is-system-running'], { ok: false })),
    );
  }, 900_000);

  afterAll(async () => {
    if (leader) await inside(['systemctl', 'poweroff'], { ok: false }).catch(() => undefined);
    if (boot) await new Promise((r) => (boot!.exitCode !== null ? r(null) : boot!.once('exit', r)));
    await ocserv?.stop();
    await lab.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('lintian finds no error in the package', async () => {
    const r = await run('lintian', ['--no-tag-display-limit', DEB]).catch((e: { stdout: string }) => e);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('E: '));
    expect(errors, r.stdout).toEqual([]);
    process.stdout.write(
      `lintian warnings kept:\n${r.stdout
        .split('\n')
        .filter((l) => l.startsWith('W: '))
        .join('\n')}\n`,
    );
  }, 300_000);

  it('at boot: tandemd is ready, the machine tunnel is up, an unprivileged user reads the status', async () => {
    await until(
      'tandemd active',
      async () => (await inside(['systemctl', 'is-active', 'tandemd'], { ok: false })).trim() === 'active',
    );
    const ms = await until('machine tunnel connected', async () => {
      const st = JSON.parse(await inside(['tandem', 'status', '--json'])) as { machine: { status: { state: string } } };
      return st.machine.status.state === 'connected';
    }).catch(async (err: Error) => {
      const journal = await inside(['journalctl', '-u', 'tandemd', '--no-pager', '-n', '60'], { ok: false });
      const status = await inside(['tandem', 'status'], { ok: false });
      throw new Error(`${err.message}\n${status}\n${journal}`, { cause: err });
    });
    process.stdout.write(`installed package: machine tunnel connected ${ms} ms after tandemd was active\n`);
    const users = await inside(['tandem', 'status'], { uid: 65534 });
    expect(users).toMatch(/Machine tunnel: connected/);
    // Readiness was a real notification: systemd knows the agent's status line.
    expect(await inside(['systemctl', 'show', '-p', 'StatusText', 'tandemd'])).toMatch(/StatusText=\S/);
    expect(await inside(['journalctl', '-u', 'tandemd', '-p', 'info', '--no-pager'])).toMatch(/agent started/);
  }, 120_000);

  it('tandem diag bundle works against the sandboxed unit: every collector ends cleanly', async () => {
    const out = JSON.parse(await inside(['sh', '-c', 'cd /root && tandem diag bundle --json'])) as {
      path: string;
      bundleId: string;
      audience: string;
    };
    expect(out).toMatchObject({ audience: 'admin', bundleId: expect.stringMatching(/^DIAG-/) });
    const report = JSON.parse(await inside(['tandem', 'diag', 'inspect', out.path, '--json'])) as {
      ok: boolean;
      manifest: { collectors: Array<{ name: string; exit: string | number; error?: string }> };
    };
    expect(report.ok).toBe(true);
    // The journal and the agent's log files are read inside the unit's sandbox (ProtectSystem=strict…).
    const failed = report.manifest.collectors.filter((c) => c.exit !== 'ok' && c.exit !== 0 && c.exit !== 127);
    expect(failed.map((c) => `${c.name}: ${c.exit} ${c.error ?? ''}`)).toEqual([]);
    // 127: a tool that is not installed, said so in the file. nft is not a dependency (yet).
    const notRun = report.manifest.collectors.filter((c) => c.exit === 127).map((c) => c.name);
    expect(notRun.filter((n) => n !== 'agent:network/firewall.txt')).toEqual([]);
    expect(await inside(['journalctl', '-u', 'tandemd', '--no-pager', '-g', out.bundleId])).toContain(out.bundleId);
  }, 120_000);

  it('journald keeps the priorities: -p warning shows a refused profile, not the routine lines', async () => {
    writeFileSync(join(rootfs, 'etc/tandem/profiles/broken.xml'), '<AnyConnectProfile><ServerList>');
    await inside(['systemctl', 'kill', '-s', 'HUP', 'tandemd']);
    await until('the refusal in the journal', async () =>
      /profile refused/.test(await inside(['journalctl', '-u', 'tandemd', '-p', 'warning', '--no-pager'])),
    );
    const warnings = await inside(['journalctl', '-u', 'tandemd', '-p', 'warning', '--no-pager']);
    expect(warnings).not.toMatch(/agent started/);
    rmSync(join(rootfs, 'etc/tandem/profiles/broken.xml'));
  }, 120_000);

  it('systemctl stop restores the routes; apt-get purge with the tunnel up restores them too and leaves nothing', async () => {
    const tunnelRoutes = async (): Promise<boolean> =>
      /dev tandem/.test(await inside(['ip', '-o', 'route', 'show', 'table', 'all']));
    expect(await tunnelRoutes()).toBe(true);
    await inside(['systemctl', 'stop', 'tandemd']);
    expect(await tunnelRoutes()).toBe(false);
    // vpnc-script's backup directory is the system's (tmpfiles.d), not the unit's: a stop keeps it.
    await inside(['test', '-d', '/run/vpnc']);
    await inside(['systemctl', 'start', 'tandemd']);
    await until('machine tunnel back', tunnelRoutes);
    // Removal stops the agent (prerm), which takes its routes and DNS down with it.
    await inside(['apt-get', 'purge', '-y', 'tandem']);
    expect(await tunnelRoutes()).toBe(false);
    for (const gone of [
      '/lib/systemd/system/tandemd.service',
      '/usr/lib/tandem',
      '/var/lib/tandem',
      '/var/log/tandem',
      '/run/tandem',
      '/usr/bin/tandem',
      '/etc/default/tandemd',
    ])
      expect(existsSync(join(rootfs, gone)), gone).toBe(false);
    // What the administrator wrote stays.
    expect(existsSync(join(rootfs, 'etc/tandem/profiles/mgmttun/VpnMgmtTunProfile.xml'))).toBe(true);
    expect(await inside(['systemctl', 'is-enabled', 'tandemd'], { ok: false })).not.toMatch(/^enabled/);
  }, 120_000);
});
