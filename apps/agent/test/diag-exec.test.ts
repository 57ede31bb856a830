/**
 * Running diagnostic commands: absolute paths only, a clean environment, timeouts that kill the
 * child, a missing binary as a result rather than a throw, and never more than four children.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import {
  childCount,
  commandResult,
  EXIT_NOT_RUN,
  EXIT_TIMEOUT,
  exitCode,
  formatRun,
  MAX_CHILDREN,
  runCommand,
} from '../src/diag/exec.js';

/** Our children whose name is `comm`, read from /proc. */
function childrenNamed(comm: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return stat.includes(`(${comm})`) && Number(rest[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('runCommand', () => {
  it('refuses a relative path with a typed error: the agent never searches PATH', async () => {
    const err: unknown = await runCommand('ip', ['addr']).catch((e: unknown) => e);
    expect(isTandemError(err, ErrorCodes.INTERNAL)).toBe(true);
    expect((err as Error).message).toMatch(/absolute path/);
  });

  it('returns output and exit code, with stderr kept apart', async () => {
    const r = await runCommand('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exit: 3 });
    expect(exitCode(r)).toBe(3);
    expect(formatRun('/bin/sh', ['-c', 'exit 3'], r)).toBe("$ /bin/sh -c 'exit 3'\nout\n[stderr]\nerr\n[exit 3]\n");
  });

  it('gives the child the clean environment only', async () => {
    process.env.TANDEM_DIAG_PROBE = 'leak';
    try {
      const r = await runCommand('/usr/bin/env', []);
      expect(r.stdout.trim().split('\n').sort()).toEqual(['LANG=C', 'LC_ALL=C', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin']);
    } finally {
      delete process.env.TANDEM_DIAG_PROBE;
    }
  });

  it('kills a child at its timeout and reports timeout', async () => {
    const t0 = Date.now();
    const r = await runCommand('/bin/sleep', ['5'], { timeoutMs: 300 });
    expect(r.exit).toBe('timeout');
    expect(r.error).toMatch(/300 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(childrenNamed('sleep')).toEqual([]);
    expect(exitCode(r)).toBe(EXIT_TIMEOUT);
  });

  it('kills a child when the signal aborts', async () => {
    const control = new AbortController();
    setTimeout(() => control.abort(), 200);
    const r = await runCommand('/bin/sleep', ['5'], { signal: control.signal });
    expect(r.exit).toBe('timeout');
    expect(r.ms).toBeLessThan(2000);
    expect(childrenNamed('sleep')).toEqual([]);
  });

  it('reports a missing binary as a result, never a throw', async () => {
    const r = await runCommand('/usr/bin/tandem-no-such-tool', ['status']);
    expect(r).toMatchObject({ exit: 'error', error: '/usr/bin/tandem-no-such-tool not installed' });
    expect(exitCode(r)).toBe(EXIT_NOT_RUN);
    expect(formatRun('/usr/bin/tandem-no-such-tool', ['status'], r)).toContain(
      '[not run: /usr/bin/tandem-no-such-tool not installed]',
    );
  });

  it('stops a child whose output passes maxBytes, keeping what came', async () => {
    const r = await runCommand('/usr/bin/yes', [], { maxBytes: 1000 });
    expect(r.exit).toBe('error');
    expect(r.error).toMatch(/beyond 1000 bytes/);
    expect(r.stdout.startsWith('y\ny\n')).toBe(true);
    expect(childrenNamed('yes')).toEqual([]);
  });

  it('runs at most four children at once; the others wait in line', async () => {
    expect(MAX_CHILDREN).toBe(4);
    const t0 = Date.now();
    const runs = Array.from({ length: 6 }, () =>
      runCommand('/bin/sleep', ['0.4']).then((r) => ({ ...r, total: Date.now() - t0 })),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(childCount()).toEqual({ running: 4, queued: 2 });
    expect(childrenNamed('sleep')).toHaveLength(4);
    const results = await Promise.all(runs);
    expect(results.map((r) => r.exit)).toEqual([0, 0, 0, 0, 0, 0]);
    // The last two waited for a slot: they end after two sleeps, yet their time counts from their own start.
    for (const r of results.slice(4)) {
      expect(r.total).toBeGreaterThanOrEqual(800);
      expect(r.ms).toBeLessThanOrEqual(r.total - 350);
    }
    expect(childCount()).toEqual({ running: 0, queued: 0 });
  });

  it('a run aborted while it waits in line leaves the line', async () => {
    const busy = Array.from({ length: 4 }, () => runCommand('/bin/sleep', ['0.4']));
    const control = new AbortController();
    const waiting = runCommand('/bin/sleep', ['5'], { signal: control.signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(childCount().queued).toBe(1);
    control.abort();
    expect(await waiting).toMatchObject({ exit: 'timeout', error: 'stopped before it started' });
    expect(childCount().queued).toBe(0);
    await Promise.all(busy);
  });
});

describe('commandResult', () => {
  it('joins the blocks, each under its command line, and keeps the first non-zero exit', async () => {
    const r = await commandResult([
      { file: '/bin/echo', args: ['one'] },
      { file: '/bin/sh', args: ['-c', 'echo two; exit 2'] },
      { file: '/bin/false', args: [] },
    ]);
    expect(r.exit).toBe(2);
    expect(r.data).toBe(
      "$ /bin/echo one\none\n\n$ /bin/sh -c 'echo two; exit 2'\ntwo\n[exit 2]\n\n$ /bin/false\n[exit 1]\n",
    );
  });

  it('records 127 for a command that could not run', async () => {
    const r = await commandResult([{ file: '/usr/bin/resolvectl-missing', args: ['status'] }]);
    expect(r).toEqual({
      exit: 127,
      data: '$ /usr/bin/resolvectl-missing status\n[not run: /usr/bin/resolvectl-missing not installed]\n',
    });
  });
});

describe('formatRun', () => {
  it('says when a successful command printed nothing', () => {
    expect(formatRun('/usr/sbin/nft', ['list', 'tables'], { stdout: '', stderr: '', exit: 0, ms: 1 })).toBe(
      '$ /usr/sbin/nft list tables\n(no output)\n',
    );
  });
});

describe('runCommand with a grandchild', () => {
  it('still ends at the timeout when a grandchild keeps the output pipe open', async () => {
    const t0 = Date.now();
    const r = await runCommand('/bin/sh', ['-c', '/bin/sleep 3 & /bin/sleep 3'], { timeoutMs: 200 });
    expect(r.exit).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});
