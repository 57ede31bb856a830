/**
 * Reading the agent's log files back: every rotated file in order (oldest first), `sinceMs`
 * leaving older records out, the newest `maxBytes` kept with `truncated` and the size of the
 * whole window, cut or foreign lines kept as they are, symlinks never followed, and what the
 * writer produced read back unchanged.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { openLogFiles, readAgentLog } from '../src/log-files.js';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const HOUR = 3_600_000;

let tmp = '';
let dir = '';

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tandem-logread-'));
  dir = join(tmp, 'logs');
  mkdirSync(dir, { mode: 0o750 });
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A line as the writer makes it, `hour` hours after T0. */
const line = (hour: number, msg: string) =>
  JSON.stringify({ time: new Date(T0 + hour * HOUR).toISOString(), mono: hour, level: 'info', scope: 'tandemd', msg });

/** Three files: agent.log.2 hours 0-2, agent.log.1 hours 3-5, agent.log hours 6-8. */
function threeFiles(): void {
  const file = (first: number) => [0, 1, 2].map((i) => `${line(first + i, `h${first + i}`)}\n`).join('');
  writeFileSync(join(dir, 'agent.log.2'), file(0));
  writeFileSync(join(dir, 'agent.log.1'), file(3));
  writeFileSync(join(dir, 'agent.log'), file(6));
}

const msgs = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { msg: string }).msg);

describe('readAgentLog', () => {
  it('everything, oldest first across the rotated files', async () => {
    threeFiles();
    const r = await readAgentLog(dir, { maxBytes: 1 << 20 });
    expect(msgs(r.text)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8']);
    expect(r.files).toEqual(['agent.log.2', 'agent.log.1', 'agent.log']);
    expect(r.truncated).toBe(false);
    expect(r.originalSize).toBe(Buffer.byteLength(r.text));
    expect(r.text.endsWith('\n')).toBe(true);
  });

  it('sinceMs leaves older records out, and files with none of the window', async () => {
    threeFiles();
    const r = await readAgentLog(dir, { sinceMs: T0 + 4 * HOUR, maxBytes: 1 << 20 });
    expect(msgs(r.text)).toEqual(['h4', 'h5', 'h6', 'h7', 'h8']);
    expect(r.files).toEqual(['agent.log.1', 'agent.log']);
    // A record exactly at the moment is in.
    expect(msgs((await readAgentLog(dir, { sinceMs: T0 + 8 * HOUR, maxBytes: 1 << 20 })).text)).toEqual(['h8']);
    expect((await readAgentLog(dir, { sinceMs: T0 + 9 * HOUR, maxBytes: 1 << 20 })).text).toBe('');
  });

  it('keeps the newest maxBytes, whole lines only, says truncated and the full size', async () => {
    threeFiles();
    const each = Buffer.byteLength(`${line(0, 'h0')}\n`);
    const r = await readAgentLog(dir, { maxBytes: 4 * each + 5 });
    expect(msgs(r.text)).toEqual(['h5', 'h6', 'h7', 'h8']);
    expect(r.files).toEqual(['agent.log.1', 'agent.log']);
    expect(r.truncated).toBe(true);
    expect(r.originalSize).toBe(9 * each);
    // With a window: the size is the window's.
    const w = await readAgentLog(dir, { sinceMs: T0 + 2 * HOUR, maxBytes: 2 * each });
    expect(msgs(w.text)).toEqual(['h7', 'h8']);
    expect(w).toMatchObject({ truncated: true, originalSize: 7 * each, files: ['agent.log'] });
  });

  it('keeps lines that are not records (a cut line, a foreign one) as they are', async () => {
    writeFileSync(join(dir, 'agent.log.1'), `${line(0, 'old')}\n{"time":"2026-03-01T00:30`);
    writeFileSync(join(dir, 'agent.log'), `not json at all\n${line(2, 'new')}\n`);
    const r = await readAgentLog(dir, { sinceMs: T0 + HOUR, maxBytes: 1 << 20 });
    expect(r.text).toBe(`{"time":"2026-03-01T00:30\nnot json at all\n${line(2, 'new')}\n`);
  });

  it('reads lines longer than its read chunk, and bounds a line longer than maxBytes', async () => {
    const long = 'z'.repeat(200_000);
    writeFileSync(join(dir, 'agent.log'), `${line(1, long)}\n${line(2, 'after')}\n`);
    expect(msgs((await readAgentLog(dir, { maxBytes: 1 << 20 })).text)).toEqual([long, 'after']);
    const r = await readAgentLog(dir, { maxBytes: 1000 });
    expect(msgs(r.text)).toEqual(['after']);
    expect(r.truncated).toBe(true);
  });

  it('an absent directory is empty; a symlinked directory is refused; a symlinked file is skipped', async () => {
    expect(await readAgentLog(join(tmp, 'none'), { maxBytes: 100 })).toEqual({
      text: '',
      truncated: false,
      originalSize: 0,
      files: [],
    });
    threeFiles();
    const link = join(tmp, 'link');
    symlinkSync(dir, link);
    const err = await readAgentLog(link, { maxBytes: 1 << 20 }).catch((e: unknown) => e);
    expect(isTandemError(err) && err.code).toBe('E_STATE_FILE');

    const other = join(tmp, 'other');
    mkdirSync(other, { mode: 0o750 });
    writeFileSync(join(tmp, 'secret'), `${line(1, 'not a log')}\n`);
    symlinkSync(join(tmp, 'secret'), join(other, 'agent.log.1'));
    writeFileSync(join(other, 'agent.log'), `${line(2, 'mine')}\n`);
    const r = await readAgentLog(other, { maxBytes: 1 << 20 });
    expect(msgs(r.text)).toEqual(['mine']);
    expect(r.files).toEqual(['agent.log']);
  });

  it('reads back what the writer wrote, across its rotations', async () => {
    const f = openLogFiles({ dir, maxFileBytes: 2000, keepFiles: 4, warn: () => undefined });
    const t = new Date().toISOString();
    for (let i = 0; i < 40; i++) f.sink({ time: t, level: 'info', scope: 'tandemd', msg: `m${i}` });
    f.close();
    const r = await readAgentLog(dir, { sinceMs: Date.parse(t), maxBytes: 1 << 20 });
    expect(msgs(r.text)).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    expect(r.files.length).toBeGreaterThan(1);
  });
});
