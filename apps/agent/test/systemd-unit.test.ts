/**
 * packaging/systemd/tandemd.service against the agent it runs: Type=notify with the readiness
 * the agent implements, the directories systemd creates being the agent's defaults, a writable
 * path for every DNS back-end vpnc-script may pick, the package layout in ExecStart with the
 * launcher's node flags; and systemd's own verdicts: `systemd-analyze verify` (with ExecStart
 * pointed at this checkout, since /usr/lib/tandem does not exist here) and `systemd-analyze
 * security --offline=yes` at or below 2.8.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET } from '@tandem/contract';
import { missing, titled, which } from '@tandem/testkit';
import { DEFAULT_LOG_DIR, DEFAULT_SETTINGS_DIR, DEFAULT_STATE_DIR } from '../src/options.js';
import { DECISION_WAIT_MS } from '../src/service-readiness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const UNIT_PATH = join(ROOT, 'packaging/systemd/tandemd.service');
const UNIT = readFileSync(UNIT_PATH, 'utf8');
const run = promisify(execFile);

/** Every value of `key` in the unit, split on whitespace, in order (repeated lines accumulate). */
function values(key: string): string[] {
  return UNIT.split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .flatMap((l) => l.slice(key.length + 1).split(/\s+/))
    .filter(Boolean);
}
const single = (key: string): string | undefined => values(key).at(-1);

describe('tandemd.service', () => {
  it('is Type=notify, only the agent may notify, and it starts after the network is online', () => {
    expect(single('Type')).toBe('notify');
    expect(single('NotifyAccess')).toBe('main');
    expect(values('Wants')).toContain('network-online.target');
    expect(values('After')).toContain('network-online.target');
    // READY=1 may wait for the TND probe (5 s) and then for a decision (DECISION_WAIT_MS).
    const start = /^(\d+)s$/.exec(single('TimeoutStartSec') ?? '');
    expect(start).not.toBeNull();
    expect(Number(start![1]) * 1000).toBeGreaterThan(5_000 + DECISION_WAIT_MS);
  });

  it("creates exactly the agent's default directories, and vpnc-script's", () => {
    expect(DEFAULT_STATE_DIR).toBe(`/run/${values('RuntimeDirectory')[0]}`);
    expect(dirname(DEFAULT_SOCKET)).toBe(DEFAULT_STATE_DIR);
    // vpnc-script's /run/vpnc comes from tmpfiles.d, so a stop never deletes another user's backups.
    expect(values('RuntimeDirectory')).toEqual(['tandem']);
    expect(readFileSync(join(ROOT, 'packaging/tmpfiles/tandem.conf'), 'utf8')).toMatch(
      /^d \/run\/vpnc 0755 root root -$/m,
    );
    expect(single('RuntimeDirectoryPreserve')).toBe('restart');
    expect(values('StateDirectory')).toEqual([basename(DEFAULT_SETTINGS_DIR)]);
    expect(DEFAULT_SETTINGS_DIR).toBe(`/var/lib/${single('StateDirectory')}`);
    expect(DEFAULT_LOG_DIR).toBe(`/var/log/${single('LogsDirectory')}`);
  });

  it('keeps every DNS back-end of vpnc-script writable, none required to exist', () => {
    expect(single('ProtectSystem')).toBe('strict');
    expect(values('ReadWritePaths').sort()).toEqual([
      '-/etc/resolv.conf',
      '-/etc/tandem/profiles',
      '-/run/resolvconf',
      '-/run/vpnc',
    ]);
    // systemd-resolved is reached over D-Bus (resolvectl): a Unix socket.
    expect(values('RestrictAddressFamilies')).toContain('AF_UNIX');
    expect(values('CapabilityBoundingSet')).toEqual(['CAP_NET_ADMIN']);
  });

  it('runs the packaged agent, whose launcher carries the node flags, with the site options', () => {
    expect(values('ExecStart')).toEqual(['/usr/sbin/tandemd', '--foreground', '$TANDEMD_OPTS']);
    expect(values('EnvironmentFile')).toEqual(['-/etc/default/tandemd']);
    // The flags exist once: in the launcher's shebang, which the package points at its runtime.
    const shebang = readFileSync(join(ROOT, 'apps/agent/bin/tandemd.js'), 'utf8').split('\n')[0]!;
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node --use-openssl-ca /);
  });
});

const analyze = which('systemd-analyze');

describe.skipIf(analyze === null)(titled("systemd's verdict on tandemd.service", missing('systemd-analyze')), () => {
  it('systemd-analyze verify: clean once ExecStart exists (here: this checkout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandemd-unit-'));
    try {
      const unit = join(dir, 'tandemd.service');
      writeFileSync(unit, UNIT.replaceAll('/usr/sbin/tandemd', join(ROOT, 'apps/agent/bin/tandemd.js')));
      const { stdout, stderr } = await run(analyze!, ['verify', unit], { timeout: 60_000, maxBuffer: 1 << 20 });
      expect(`${stdout}${stderr}`).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('systemd-analyze security --offline=yes: exposure at most 2.8', async () => {
    const { stdout } = await run(analyze!, ['security', '--offline=yes', '--no-pager', UNIT_PATH], {
      timeout: 60_000,
      maxBuffer: 1 << 20,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_COLORS: '0' },
    });
    const score = /Overall exposure level for tandemd\.service: (\d+\.\d)/.exec(stdout);
    expect(score, stdout.slice(-500)).not.toBeNull();
    expect(Number(score![1])).toBeLessThanOrEqual(2.8);
  });
});
