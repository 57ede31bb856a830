/**
 * The saved settings file: a round trip through a new store (what a restart does), and every
 * kind of file that must not be trusted — not JSON, wrong types, unknown version, a symlink,
 * writable by others, owned by someone else, too large, not a regular file, an unsafe
 * directory — gives one logged E_STATE_FILE and no setting (the profiles decide), never a
 * throw. Saving over a planted symlink replaces the link, not the file it points at.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, ErrorCodes, isTandemError, RingSink, type LogRecord } from '@tandem/common';
import { SETTINGS_FILE, SETTINGS_MAX_BYTES, SettingsStore } from '../src/settings.js';
import { isRoot } from '@tandem/testkit';

const AT = new Date('2026-03-01T08:00:00.000Z');
const VALID = JSON.stringify({ version: 1, machineTunnel: { enabled: false, uid: 0, at: AT.toISOString() } });

let tmp = '';
let dir = '';
let ring: RingSink;
const open = () => SettingsStore.open(dir, createLogger({ level: 'debug', sinks: [ring.sink] }));
const errors = (): LogRecord[] => ring.records().filter((r) => r.level === 'error');
const file = () => join(dir, SETTINGS_FILE);

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tandem-settings-'));
  dir = join(tmp, 'settings');
  ring = new RingSink();
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('settings store', () => {
  it('no file: no setting, no error; the directory is created 0700', () => {
    expect(open().machineTunnel).toBeNull();
    expect(errors()).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('a saved switch is what the next store (the restarted agent) reads', () => {
    const saved = open().saveMachineTunnel(false, 1234, AT);
    expect(saved).toEqual({ enabled: false, uid: 1234, at: AT.toISOString() });
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    expect(open().machineTunnel).toEqual(saved);
    const again = open();
    again.saveMachineTunnel(true, 0, new Date(AT.getTime() + 1000));
    expect(open().machineTunnel).toEqual({ enabled: true, uid: 0, at: '2026-03-01T08:00:01.000Z' });
    expect(errors()).toEqual([]);
  });

  const hostile: Array<[string, () => void, RegExp]> = [
    ['not JSON', () => writeFileSync(file(), '{"version":1, machineTunnel', { mode: 0o600 }), /is not valid JSON/],
    [
      'wrong types',
      () =>
        writeFileSync(
          file(),
          JSON.stringify({ version: 1, machineTunnel: { enabled: 'no', uid: 0, at: AT.toISOString() } }),
          { mode: 0o600 },
        ),
      /unexpected shape: machineTunnel\.enabled/,
    ],
    [
      'a negative uid',
      () =>
        writeFileSync(
          file(),
          JSON.stringify({ version: 1, machineTunnel: { enabled: false, uid: -1, at: AT.toISOString() } }),
          { mode: 0o600 },
        ),
      /unexpected shape/,
    ],
    [
      'a timestamp that is not ISO-8601',
      () =>
        writeFileSync(
          file(),
          JSON.stringify({ version: 1, machineTunnel: { enabled: false, uid: 0, at: 'yesterday' } }),
          { mode: 0o600 },
        ),
      /unexpected shape: machineTunnel\.at/,
    ],
    [
      'an unknown version',
      () =>
        writeFileSync(
          file(),
          JSON.stringify({ version: 2, machineTunnel: { enabled: false, uid: 0, at: AT.toISOString() } }),
          { mode: 0o600 },
        ),
      /unexpected shape: version/,
    ],
    ['an array', () => writeFileSync(file(), '[]', { mode: 0o600 }), /unexpected shape/],
    [
      'a symlink to a valid file',
      () => {
        writeFileSync(join(tmp, 'elsewhere.json'), VALID, { mode: 0o600 });
        symlinkSync(join(tmp, 'elsewhere.json'), file());
      },
      /is a symlink/,
    ],
    [
      'world-writable',
      () => {
        writeFileSync(file(), VALID, { mode: 0o600 });
        chmodSync(file(), 0o666);
      },
      /group\/world writable/,
    ],
    [
      'group-writable',
      () => {
        writeFileSync(file(), VALID, { mode: 0o600 });
        chmodSync(file(), 0o620);
      },
      /group\/world writable/,
    ],
    [
      'huge',
      () => writeFileSync(file(), VALID + ' '.repeat(SETTINGS_MAX_BYTES), { mode: 0o600 }),
      /bytes, more than 4096/,
    ],
    ['a directory', () => mkdirSync(file(), { mode: 0o700 }), /not a regular file/],
    ['a FIFO (a read would block)', () => execFileSync('mkfifo', ['-m', '600', file()]), /not a regular file/],
  ];

  for (const [name, plant, reason] of hostile) {
    it(`hostile file (${name}): logged E_STATE_FILE, no setting, no throw`, () => {
      mkdirSync(dir, { mode: 0o700 });
      plant();
      expect(open().machineTunnel).toBeNull();
      const logged = errors();
      expect(logged).toHaveLength(1);
      expect(logged[0]!.msg).toBe('saved settings ignored; the machine tunnel follows the profiles');
      expect(logged[0]!.fields).toMatchObject({ code: ErrorCodes.STATE_FILE, file: file() });
      expect(String(logged[0]!.fields?.['error'])).toMatch(reason);
    });
  }

  it.skipIf(!isRoot)('a file owned by another user is refused', () => {
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(file(), VALID, { mode: 0o600 });
    chownSync(file(), 65534, 65534);
    expect(open().machineTunnel).toBeNull();
    expect(String(errors()[0]?.fields?.['error'])).toMatch(/owned by uid 65534/);
  });

  it('an unsafe directory (a symlink, or open to others) is refused the same way', () => {
    mkdirSync(join(tmp, 'real'), { mode: 0o700 });
    writeFileSync(join(tmp, 'real', SETTINGS_FILE), VALID, { mode: 0o600 });
    symlinkSync(join(tmp, 'real'), dir);
    expect(open().machineTunnel).toBeNull();
    expect(errors()[0]?.fields).toMatchObject({ code: ErrorCodes.STATE_FILE });
    rmSync(dir);
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o755);
    writeFileSync(file(), VALID, { mode: 0o600 });
    expect(open().machineTunnel).toBeNull();
    expect(String(errors()[1]?.fields?.['error'])).toMatch(/mode 755 is not 0700/);
  });

  it('saving replaces a planted symlink itself and leaves its target alone', () => {
    mkdirSync(dir, { mode: 0o700 });
    const target = join(tmp, 'target.json');
    writeFileSync(target, 'untouched', { mode: 0o600 });
    symlinkSync(target, file());
    const store = open();
    store.saveMachineTunnel(false, 0, AT);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(lstatSync(file()).isFile()).toBe(true);
    expect(open().machineTunnel).toEqual({ enabled: false, uid: 0, at: AT.toISOString() });
  });

  it('a failed save throws E_STATE_FILE but the new value is in force for this run', () => {
    const store = open();
    chmodSync(tmp, 0o700);
    rmSync(dir, { recursive: true });
    // A file where the directory should be: it cannot be created, so nothing can be saved.
    writeFileSync(dir, 'not a directory');
    let thrown: unknown;
    try {
      store.saveMachineTunnel(false, 7, AT);
    } catch (err) {
      thrown = err;
    }
    expect(isTandemError(thrown, ErrorCodes.STATE_FILE)).toBe(true);
    expect((thrown as Error).message).toMatch(
      /disabled until the agent restarts, but saving .* failed: .*is not a directory/,
    );
    expect(store.machineTunnel).toEqual({ enabled: false, uid: 7, at: AT.toISOString() });
    expect(errors().map((r) => r.msg)).toContain('machine tunnel setting not saved');
  });
});
