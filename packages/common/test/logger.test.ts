/**
 * Log sinks on a stream whose reader went away: the first write fails with EPIPE as an 'error'
 * event; the sink swallows it (no uncaught exception that would end a tunnel mid-restore), stops
 * writing, and the other sinks keep receiving records.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, jsonSink, RingSink, textSink } from '@tandem/common';

/** A stream that accepts `okWrites` writes, then fails every write with EPIPE. */
function brokenPipe(okWrites: number): Writable & { writes: number; lines: string[] } {
  const lines: string[] = [];
  let writes = 0;
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes++;
      if (writes > okWrites) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        return;
      }
      lines.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, {
    lines,
    get writes() {
      return writes;
    },
  });
}

describe('log sinks when the stream breaks', () => {
  for (const [name, make] of [
    ['textSink', textSink],
    ['jsonSink', jsonSink],
  ] as const) {
    it(`${name}: an EPIPE neither throws nor escapes as an uncaught error, and writing stops`, async () => {
      const stream = brokenPipe(1);
      const ring = new RingSink();
      const log = createLogger({ sinks: [make(stream), ring.sink] });
      const uncaught: unknown[] = [];
      const onUncaught = (err: unknown): void => {
        uncaught.push(err);
      };
      process.on('uncaughtException', onUncaught);
      try {
        log.info('first');
        log.info('second'); // fails asynchronously with EPIPE
        await new Promise((r) => setTimeout(r, 20));
        const writesAfterError = stream.writes;
        log.info('third');
        log.warn('fourth');
        await new Promise((r) => setTimeout(r, 20));
        expect(uncaught).toEqual([]);
        expect(stream.lines).toHaveLength(1);
        expect(stream.lines[0]).toContain('first');
        // Once the stream has failed, the sink does not keep writing into it.
        expect(stream.writes).toBe(writesAfterError);
        expect(ring.records().map((r) => r.msg)).toEqual(['first', 'second', 'third', 'fourth']);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    });
  }
});

describe('level read at run time (currentLevel)', () => {
  it('follows the getter on every call; a call below it never reaches the redactor', () => {
    let level: 'debug' | 'info' = 'info';
    let redactions = 0;
    const counting = {
      string: (s: string) => {
        redactions++;
        return s;
      },
      value: (v: unknown) => v,
    } as unknown as Parameters<typeof createLogger>[0]['redactor'];
    const ring = new RingSink();
    const log = createLogger({ currentLevel: () => level, sinks: [ring.sink], redactor: counting }).child('x');
    log.debug('off');
    expect(redactions).toBe(0);
    level = 'debug';
    log.debug('on');
    level = 'info';
    log.debug('off again');
    expect(ring.records().map((r) => r.msg)).toEqual(['on']);
    expect(redactions).toBe(1);
  });
});

describe('journald priority prefixes', () => {
  const collect = () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    return { stream, lines };
  };

  it('text and json lines start with <3>/<4>/<6>/<7> only when asked', async () => {
    const on = collect();
    const off = collect();
    const json = collect();
    const log = createLogger({
      level: 'debug',
      sinks: [textSink(on.stream, { journald: true }), textSink(off.stream), jsonSink(json.stream, { journald: true })],
    });
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d\nsecond line');
    await new Promise((r) => setTimeout(r, 10));
    expect(on.lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(on.lines[3]).toMatch(/^<7>.* d\n<7>second line\n$/);
    expect(off.lines.every((l) => /^\d{4}-/.test(l))).toBe(true);
    expect(json.lines.map((l) => l.slice(0, 4))).toEqual(['<3>{', '<4>{', '<6>{', '<7>{']);
    expect(json.lines.every((l) => l.indexOf('\n') === l.length - 1)).toBe(true);
  });
});
