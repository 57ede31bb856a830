/**
 * The system collectors against this machine: os.txt's facts, the process table read from /proc
 * (command lines only in full mode), other VPN software found by process name, link kind and
 * install directory, and the journal's normal failures stated.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '@tandem/testkit';
import { parseStat } from '../src/diag/proc.js';
import { softwareCollector, tunnelLinks } from '../src/diag/software.js';
import { journalCollector, osCollector, processesCollector } from '../src/diag/system.js';
import { runCollector } from './lib/run-collector.js';

const dir = mkdtempSync(join(os.tmpdir(), 'tandem-diag-sys-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const run = runCollector;

/** Starts `file` with `args` and waits until it has exec'd (its comm is no longer node's). */
async function start(file: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(file, args, { stdio: 'ignore' });
  children.push(child);
  await new Promise((r) => child.once('spawn', r));
  return child;
}

describe('os.txt', () => {
  it('holds os-release, kernel, host, locale, time zone, uptime, boot time and runtime', async () => {
    const now = new Date('2026-01-02T03:04:05.000Z');
    const { data } = await run(
      osCollector({ env: { LANG: 'de_DE.UTF-8', LC_TIME: 'C', HOME: '/root' }, now: () => now }),
    );
    expect(data).toMatch(/^== \/etc\/os-release\n(.*\n)*?(PRETTY_)?NAME=/);
    expect(data).toContain(`release: ${os.release()}\n`);
    expect(data).toContain(`arch: ${os.arch()} (machine ${os.machine()})\n`);
    expect(data).toContain(`hostname: ${os.hostname()}\n`);
    expect(data).toContain('== locale (agent environment)\n  LANG=de_DE.UTF-8\n  LC_TIME=C\n');
    expect(data).not.toContain('HOME=/root');
    expect(data).toContain('now: 2026-01-02T03:04:05.000Z\n');
    expect(data).toMatch(/time zone: \S+ \(UTC[+-]\d\d:\d\d\)\n/);
    expect(data).toMatch(/uptime: \d+ d \d+ h \d+ min \(\d+ s\)\n/);
    const boot = /boot time: (\S+)\n/.exec(data)?.[1] ?? '';
    expect(Math.abs(now.getTime() - Date.parse(boot) - os.uptime() * 1000)).toBeLessThan(5000);
    expect(data).toContain(`node: ${process.version}\n`);
    expect(data).toContain(`openssl: ${process.versions.openssl}\n`);
  });

  it('a missing os-release is stated', async () => {
    const { data } = await run(osCollector({ osRelease: join(dir, 'no-os-release') }));
    expect(data).toMatch(/no-os-release\nunavailable: ENOENT/);
  });
});

describe('processes.txt', () => {
  it('parses a stat line whose name holds spaces and parentheses', () => {
    expect(parseStat('42 (a (b) c) S 7 42 42 0 -1')).toEqual({ comm: 'a (b) c', ppid: 7 });
    expect(parseStat('garbage')).toBeNull();
  });

  it('lists pid, ppid, uid and name, our own process included, and no command line by default', async () => {
    const marker = await start('/bin/sleep', ['30.25']);
    const { data } = await run(processesCollector({ full: false }));
    expect(data).toMatch(/^\d+ processes; command lines left out \(only in a --no-redact bundle\)\n/);
    expect(data).toMatch(/^\s+PID\s+PPID\s+UID COMM\n/m);
    const uid = process.getuid?.() ?? 0;
    expect(data).toMatch(new RegExp(`^\\s+${process.pid}\\s+${process.ppid}\\s+${uid} \\S`, 'm'));
    expect(data).toMatch(new RegExp(`^\\s+${marker.pid}\\s+${process.pid}\\s+${uid} sleep$`, 'm'));
    expect(data).not.toContain('30.25');
    expect(data).not.toContain('CMDLINE');
  });

  it('adds command lines with full, cut at 512 characters', async () => {
    const marker = await start('/bin/sleep', ['30.5']);
    const long = await start('/bin/sleep', ['30', ...Array.from({ length: 200 }, () => '0.001')]);
    const { data } = await run(processesCollector({ full: true }));
    expect(data).toContain('command lines cut at 512 characters');
    expect(data).toMatch(/PID\s+PPID\s+UID COMM\s+CMDLINE\n/);
    expect(data).toMatch(new RegExp(`^\\s+${marker.pid}\\s+${process.pid}\\s+\\d+ sleep\\s+/bin/sleep 30\\.5$`, 'm'));
    const line = data.split('\n').find((l) => new RegExp(`^\\s+${long.pid}\\s`).test(l)) ?? '';
    expect(line.slice(line.indexOf('/bin/sleep'))).toHaveLength(513);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('software.txt', () => {
  it('says none found for each part when nothing is there', async () => {
    const proc = join(dir, 'empty-proc');
    mkdirSync(proc);
    const { data } = await run(softwareCollector({ procRoot: proc, directories: [] }));
    expect(data).toMatch(/== processes of other VPN and security software\n {2}none found\n/);
    expect(data).toMatch(/== installed clients\n {2}none found\n$/);
  });

  it('finds a running process by name and an installed client directory', async () => {
    const fake = join(dir, 'openvpn');
    copyFileSync('/bin/sleep', fake);
    execFileSync('/bin/chmod', ['755', fake]);
    const child = await start(fake, ['30']);
    const installed = join(dir, 'secureclient');
    mkdirSync(installed);
    const { data } = await run(
      softwareCollector({
        directories: [
          { path: installed, product: 'Cisco Secure Client' },
          { path: join(dir, 'x'), product: 'X' },
        ],
      }),
    );
    expect(data).toContain(`  openvpn (pid ${child.pid}, uid ${process.getuid?.() ?? 0}): OpenVPN\n`);
    expect(data).toContain(`  ${installed}: Cisco Secure Client\n`);
    expect(data).not.toContain(': X\n');
  });

  it('picks tunnel and IPsec links out of ip -j output', () => {
    const json = JSON.stringify([
      { ifname: 'lo', link_type: 'loopback' },
      {
        ifname: 'tun0',
        link_type: 'none',
        operstate: 'UP',
        linkinfo: { info_kind: 'tun', info_data: { type: 'tun' } },
      },
      { ifname: 'wg0', link_type: 'none', operstate: 'UNKNOWN', linkinfo: { info_kind: 'wireguard' } },
      { ifname: 'ipsec0', operstate: 'UP', linkinfo: { info_kind: 'xfrm' } },
      { ifname: 'ppp0', link_type: 'ppp', operstate: 'UP' },
      { ifname: 'eth0', link_type: 'ether', linkinfo: { info_kind: 'veth' } },
    ]);
    expect(tunnelLinks(json)).toEqual([
      '  tun0: kind tun, UP {"type":"tun"}',
      '  wg0: kind wireguard, UNKNOWN',
      '  ipsec0: kind xfrm, UP',
      '  ppp0: kind ppp, UP',
    ]);
    expect(tunnelLinks('not json')).toEqual([]);
  });

  const noTun = missing('root', 'ip');
  it.skipIf(noTun)(`lists a real TUN device (${noTun ?? 'root and ip present'})`, async () => {
    const name = `tdiag${process.pid % 100000}`;
    execFileSync('/usr/sbin/ip', ['tuntap', 'add', 'dev', name, 'mode', 'tun']);
    try {
      const { data } = await run(softwareCollector({ directories: [] }));
      expect(data).toMatch(new RegExp(`^ {2}${name}: kind tun, DOWN `, 'm'));
    } finally {
      execFileSync('/usr/sbin/ip', ['link', 'del', name]);
    }
  });
});

describe('journal.txt', () => {
  const noJournal = missing('journalctl');
  it.skipIf(noJournal)(
    `runs journalctl for the agent unit since the given time (${noJournal ?? 'journalctl present'})`,
    async () => {
      const since = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      const r = await run(journalCollector({ sinceMs: since }));
      expect(r.data).toMatch(
        /^\$ \/usr\/bin\/journalctl -u tandemd\.service -o short-iso-precise --no-pager --since @1767323045 --lines=20000\n/,
      );
      expect(typeof r.exit).toBe('number');
      // This machine has a journal with or without entries, or none at all: each case is said in words.
      if (!/^\d{4}-\d\d-\d\dT/m.test(r.data))
        expect(r.data).toMatch(
          /No journal: journald keeps no journal files|No entries of tandemd\.service since 2026-01-02T03:04:05\.678Z/,
        );
    },
  );

  it('a missing journalctl is stated and its exit recorded', async () => {
    const r = await run(journalCollector({ sinceMs: 0, journalctl: join(dir, 'no-journalctl') }));
    expect(r.exit).toBe(127);
    expect(r.data).toContain('No journal: journalctl is not installed');
  });
});
