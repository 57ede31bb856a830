/**
 * The agent's log files, written: one JSON line per record with the documented fields, rotation
 * by size keeping a bounded number of files in order, modes 0750/0640 whatever the umask, a
 * directory that is a symlink, foreign or writable by others refused, and a failing write
 * that never throws, says so once, and resumes after the pause.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '@tandem/common';
import { isRoot } from '@tandem/testkit';
import { AGENT_LOG, logLine, openLogFiles, type LogFileOptions } from '../src/log-files.js';

let tmp = '';
let warnings: string[] = [];

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tandem-logfiles-'));
  warnings = [];
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const record = (msg: string, fields?: Record<string, unknown>): LogRecord => ({
  time: new Date().toISOString(),
  level: 'info',
  scope: 'tandemd:engine',
  msg,
  ...(fields ? { fields } : {}),
});

const files = (o: Partial<LogFileOptions> & { dir: string }) => openLogFiles({ warn: (m) => warnings.push(m), ...o });
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('log files: the line', () => {
  it('carries time, mono (3 decimals), level, scope, msg and fields, in that order', () => {
    const dir = join(tmp, 'logs');
    const f = files({ dir });
    f.sink(record('tunnel up', { tunnel: 'machine', code: 'E_PROTOCOL' }));
    f.sink(record('no fields'));
    f.close();
    const [a, b] = lines(join(dir, AGENT_LOG));
    expect(Object.keys(a!)).toEqual(['time', 'mono', 'level', 'scope', 'tunnel', 'code', 'msg', 'fields']);
    expect(a).toMatchObject({ level: 'info', scope: 'tandemd:engine', tunnel: 'machine', code: 'E_PROTOCOL' });
    expect(a).toMatchObject({ msg: 'tunnel up' });
    expect(a!['fields']).toEqual({ tunnel: 'machine', code: 'E_PROTOCOL' });
    expect(Date.parse(a!['time'] as string)).toBeGreaterThan(Date.now() - 60_000);
    const mono = a!['mono'] as number;
    expect(mono).toBeGreaterThan(0);
    expect(Math.round(mono * 1000)).toBeCloseTo(mono * 1000, 6);
    expect(b!['mono'] as number).toBeGreaterThanOrEqual(mono);
    expect(Object.keys(b!)).toEqual(['time', 'mono', 'level', 'scope', 'msg']);
  });

  it('names the tunnel from the scope and keeps only stable codes', () => {
    const scoped = { ...record('connected'), scope: 'tandemd:connection:user' };
    expect(JSON.parse(logLine(scoped, 1))).toMatchObject({ tunnel: 'user' });
    const free = JSON.parse(logLine(record('odd', { code: 'not a code; rm -rf' }), 1)) as Record<string, unknown>;
    expect(free['code']).toBeUndefined();
    expect(free['tunnel']).toBeUndefined();
  });

  it('a record whose fields cannot be serialised still gives its line', () => {
    const line = logLine(record('big', { n: 10n }), 1.5);
    expect(JSON.parse(line)).toMatchObject({ msg: 'big', mono: 1.5, fields: { unserializable: true } });
  });
});

describe('log files: rotation', () => {
  it('rotates at the size cap, keeps `keepFiles` files, oldest in the highest number', () => {
    const dir = join(tmp, 'logs');
    const f = files({ dir, maxFileBytes: 1000, keepFiles: 3 });
    for (let i = 0; i < 100; i++) f.sink(record(`record ${String(i).padStart(3, '0')} ${'x'.repeat(100)}`));
    f.close();
    expect(readdirSync(dir).sort()).toEqual(['agent.log', 'agent.log.1', 'agent.log.2', 'agent.log.3']);
    const seq = (name: string) =>
      lines(join(dir, name)).map((r) => Number(/record (\d+)/.exec(r['msg'] as string)![1]));
    const all = ['agent.log.3', 'agent.log.2', 'agent.log.1', 'agent.log'].flatMap(seq);
    // Consecutive, ending with the last record: nothing lost between the kept files.
    expect(all.at(-1)).toBe(99);
    expect(all).toEqual(all.map((_, i) => all[0]! + i));
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(1000);
  });

  it('drops rotated files beyond a smaller keepFiles, and a record larger than the cap still lands', () => {
    const dir = join(tmp, 'logs');
    mkdirSync(dir, { mode: 0o750 });
    for (let i = 1; i <= 6; i++) writeFileSync(join(dir, `agent.log.${i}`), 'old\n', { mode: 0o640 });
    writeFileSync(join(dir, AGENT_LOG), 'current\n', { mode: 0o640 });
    const f = files({ dir, maxFileBytes: 100, keepFiles: 2 });
    f.sink(record('y'.repeat(300)));
    f.close();
    expect(readdirSync(dir).sort()).toEqual(['agent.log', 'agent.log.1', 'agent.log.2']);
    expect(readFileSync(join(dir, 'agent.log.1'), 'utf8')).toBe('current\n');
    expect(lines(join(dir, AGENT_LOG))[0]!['msg']).toBe('y'.repeat(300));
  });
});

describe('log files: modes and refusals', () => {
  it('creates the directory 0750 and files 0640 under the unit umask (0077)', () => {
    const dir = join(tmp, 'a', 'logs');
    const old = process.umask(0o077);
    try {
      const f = files({ dir });
      f.sink(record('hello'));
      f.close();
    } finally {
      process.umask(old);
    }
    expect(lstatSync(dir).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(dir, AGENT_LOG)).mode & 0o777).toBe(0o640);
  });

  it('sets an existing file with other bits back to 0640', () => {
    const dir = join(tmp, 'logs');
    mkdirSync(dir, { mode: 0o750 });
    writeFileSync(join(dir, AGENT_LOG), '', { mode: 0o644 });
    chmodSync(join(dir, AGENT_LOG), 0o644);
    const f = files({ dir });
    f.sink(record('hello'));
    f.close();
    expect(lstatSync(join(dir, AGENT_LOG)).mode & 0o777).toBe(0o640);
  });

  it('refuses a directory that is a symlink: nothing written through it, one warning', () => {
    const real = join(tmp, 'real');
    mkdirSync(real, { mode: 0o750 });
    const dir = join(tmp, 'logs');
    symlinkSync(real, dir);
    const f = files({ dir });
    for (let i = 0; i < 5; i++) expect(() => f.sink(record('through a link'))).not.toThrow();
    f.close();
    expect(readdirSync(real)).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is a symlink/);
  });

  it('refuses a group-writable directory and a symlink planted as agent.log', () => {
    const open = join(tmp, 'open');
    mkdirSync(open);
    chmodSync(open, 0o770);
    files({ dir: open }).sink(record('x'));
    expect(existsSync(join(open, AGENT_LOG))).toBe(false);

    const dir = join(tmp, 'logs');
    mkdirSync(dir, { mode: 0o750 });
    const target = join(tmp, 'target');
    writeFileSync(target, '');
    symlinkSync(target, join(dir, AGENT_LOG));
    files({ dir }).sink(record('x'));
    expect(readFileSync(target, 'utf8')).toBe('');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/group\/world writable/);
  });

  it.skipIf(!isRoot)('as root, refuses a directory owned by another user (skipped: needs root)', () => {
    const dir = join(tmp, 'logs');
    mkdirSync(dir, { mode: 0o750 });
    chownSync(dir, 65534, 65534);
    files({ dir }).sink(record('x'));
    expect(readdirSync(dir)).toEqual([]);
    expect(warnings[0]).toMatch(/owned by uid 65534/);
  });
});

describe('log files: failures', () => {
  it('a failing write never throws, warns once, pauses, and resumes after the pause', () => {
    const dir = join(tmp, 'logs');
    let now = 1_000_000;
    let full = true;
    let attempts = 0;
    const f = files({
      dir,
      retryMs: 60_000,
      now: () => now,
      write: (_fd, data) => {
        attempts++;
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return data.length;
      },
    });
    for (let i = 0; i < 50; i++) expect(() => f.sink(record(`r${i}`))).not.toThrow();
    // Paused after the first failure: the other 49 records cost no write attempt.
    expect(attempts).toBe(1);
    now += 30_000;
    f.sink(record('still paused'));
    expect(attempts).toBe(1);
    now += 31_000;
    f.sink(record('tried again, still full'));
    expect(attempts).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/off for 60 s: ENOSPC/)]);
    now += 61_000;
    full = false;
    f.sink(record('space again'));
    expect(attempts).toBe(3);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/written again/);
    f.close();
  });

  it('a directory that cannot be created (a file in the way) is a warning, not a throw', () => {
    writeFileSync(join(tmp, 'file'), '');
    const f = files({ dir: join(tmp, 'file', 'logs') });
    expect(() => f.sink(record('x'))).not.toThrow();
    expect(warnings).toHaveLength(1);
  });
});
