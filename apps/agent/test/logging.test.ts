/**
 * The agent's logging around its sinks: journald priorities only when stderr really is the
 * stream JOURNAL_STREAM names, on every line in both formats; the level switched at run time
 * for every derived logger (a debug recording) with a call below it doing no redaction; the
 * log files fed when a directory is given; and the options that choose the directory.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { isJournalStream } from '../src/journald.js';
import { AGENT_LOG } from '../src/log-files.js';
import { createAgentLogging, type LoggingOptions } from '../src/logging.js';
import { DEFAULT_LOG_DIR, parseOptions } from '../src/options.js';

let tmp = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tandem-logging-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Logging into a captured stream. */
function captured(options: Partial<LoggingOptions> = {}) {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  const logging = createAgentLogging({ level: 'info', format: 'text', stream, ...options });
  return { logging, out: () => out };
}

describe('journald stream detection', () => {
  it('true only when JOURNAL_STREAM names the device and inode open on the fd', () => {
    const path = join(tmp, 'stderr');
    const fd = openSync(path, 'w');
    const other = openSync(join(tmp, 'other'), 'w');
    try {
      const st = fstatSync(fd, { bigint: true });
      const value = `${st.dev}:${st.ino}`;
      expect(isJournalStream(fd, value)).toBe(true);
      // The variable inherited by a process whose stderr goes elsewhere.
      expect(isJournalStream(other, value)).toBe(false);
      expect(isJournalStream(fd, `${st.dev}:${st.ino + 1n}`)).toBe(false);
      expect(isJournalStream(fd, undefined)).toBe(false);
      expect(isJournalStream(fd, '')).toBe(false);
      expect(isJournalStream(fd, `${st.dev}:${st.ino}:1`)).toBe(false);
      expect(isJournalStream(fd, 'x:y')).toBe(false);
    } finally {
      closeSync(fd);
      closeSync(other);
    }
    // A closed fd is not journald either.
    expect(isJournalStream(fd, '1:2')).toBe(false);
  });
});

describe('journald priorities', () => {
  it('text: <3> error, <4> warn, <6> info, <7> debug before every line, message line breaks included', () => {
    const { logging, out } = captured({ journald: true, level: 'debug' });
    const log = logging.log.child('engine');
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    log.warn('first\nsecond');
    const lines = out().split('\n').slice(0, -1);
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>', '<4>', '<4>']);
    expect(lines[0]).toMatch(/^<3>\d{4}-\d\d-\d\dT[\d:.]+Z ERROR \[tandemd:engine\] e$/);
    expect(lines[5]).toBe('<4>second');
  });

  it('json: the prefix before each JSON line', () => {
    const { logging, out } = captured({ journald: true, format: 'json' });
    logging.log.warn('w', { tunnel: 'machine' });
    expect(out()).toMatch(
      /^<4>\{"time":"[^"]+","level":"warn","scope":"tandemd","msg":"w","fields":\{"tunnel":"machine"\}\}\n$/,
    );
  });

  it('no prefix without journald (a terminal, a test)', () => {
    const { logging, out } = captured({ journald: false });
    logging.log.error('e');
    expect(out()).toMatch(/^\d{4}-.* ERROR \[tandemd\] e\n$/);
    // The default for a stream that is not stderr: no detection, no prefix.
    const { logging: d, out: dOut } = captured();
    d.log.error('e');
    expect(dOut().startsWith('<')).toBe(false);
  });
});

describe('run-time level', () => {
  it('setLevel switches debug on and off for loggers made before the switch', () => {
    const { logging, out } = captured();
    const engine = logging.log.child('engine');
    expect(logging.level()).toBe('info');
    engine.debug('hidden 1');
    logging.setLevel('debug');
    expect(logging.level()).toBe('debug');
    engine.debug('shown');
    logging.setLevel('info');
    engine.debug('hidden 2');
    engine.info('info stays');
    logging.setLevel('error');
    engine.warn('hidden 3');
    const ring = logging.ring.records().map((r) => r.msg);
    expect(ring).toEqual(['shown', 'info stays']);
    expect(out()).toContain('shown');
    expect(out()).not.toMatch(/hidden/);
  });

  it('a call below the level does no redaction work on its fields', () => {
    const { logging } = captured();
    let reads = 0;
    const fields = {
      get costly() {
        reads++;
        return 'value';
      },
    };
    logging.log.debug('below', fields);
    expect(reads).toBe(0);
    logging.setLevel('debug');
    logging.log.debug('at', fields);
    expect(reads).toBeGreaterThan(0);
  });
});

describe('log files from createAgentLogging', () => {
  it('records reach the files in the given directory; `dir` says which; none without one', () => {
    const dir = join(tmp, 'logs');
    const { logging } = captured({ dir });
    expect(logging.dir).toBe(dir);
    logging.log.child('engine').info('to the file', { tunnel: 'user' });
    logging.log.debug('below the level, not written');
    logging.close();
    const lines = readFileSync(join(dir, AGENT_LOG), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      scope: 'tandemd:engine',
      msg: 'to the file',
      fields: { tunnel: 'user' },
    });
    expect(captured().logging.dir).toBeNull();
  });

  it("the files' own failure is one warning on the stream (journald priority) and in the ring", () => {
    const { logging, out } = captured({ dir: '/proc/version/logs', journald: true });
    logging.log.info('a');
    logging.log.info('b');
    const warnings = out()
      .split('\n')
      .filter((l) => l.startsWith('<4>'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\[tandemd:log-files\] log files in \/proc\/version\/logs off for 60 s/);
    expect(logging.ring.records().filter((r) => r.scope === 'tandemd:log-files')).toHaveLength(1);
  });
});

describe('options: --log-dir, --no-log-files', () => {
  it('default, a directory, off, and a relative path refused', () => {
    expect(parseOptions([], {}).logDir).toBe(DEFAULT_LOG_DIR);
    expect(DEFAULT_LOG_DIR).toBe('/var/log/tandem');
    expect(parseOptions(['--log-dir', '/srv/logs'], {}).logDir).toBe('/srv/logs');
    expect(parseOptions(['--no-log-files', '--log-dir', '/srv/logs'], {}).logDir).toBeNull();
    let err: unknown;
    try {
      parseOptions(['--log-dir', 'logs'], {});
    } catch (e) {
      err = e;
    }
    expect(isTandemError(err) && err.code).toBe(ErrorCodes.USAGE);
  });
});
