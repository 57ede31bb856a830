/** Frame reader, depth scan and envelope classification. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, classifyAtAgent, classifyAtClient, jsonDepth, parseFrame } from '@tandem/ipc';

const CAP = 64 * 1024;
const frames = (r: FrameReader, ...chunks: string[]) => chunks.flatMap((c) => [...r.push(Buffer.from(c))]);

describe('FrameReader', () => {
  it('splits on newlines across chunks, skips blank lines and tolerates CRLF', () => {
    const r = new FrameReader(CAP);
    expect(frames(r, '{"a":', '1}\n\n{"b":2}\r\n{"c"')).toEqual([
      { kind: 'frame', text: '{"a":1}' },
      { kind: 'frame', text: '{"b":2}' },
    ]);
    expect(r.buffered).toBe(4);
  });

  it('reports an oversized frame before its newline arrives and then stays silent', () => {
    const r = new FrameReader(16);
    expect(frames(r, 'x'.repeat(10), 'x'.repeat(10))).toEqual([{ kind: 'oversize', bytes: 20 }]);
    expect(frames(r, '\n{}\n')).toEqual([]);
    expect(r.buffered).toBe(0);
  });

  it('accepts a frame of exactly the cap', () => {
    const r = new FrameReader(CAP);
    const text = `"${'a'.repeat(CAP - 2)}"`;
    expect(frames(r, `${text}\n`)).toEqual([{ kind: 'frame', text }]);
  });

  it('rejects invalid UTF-8', () => {
    const r = new FrameReader(CAP);
    expect([...r.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]))]).toEqual([
      { kind: 'invalid', reason: 'frame is not valid UTF-8' },
    ]);
  });

  it('decodes the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        (values, cuts) => {
          const bytes = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''));
          const r = new FrameReader(CAP);
          const out: unknown[] = [];
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            for (const f of r.push(bytes.subarray(at, at + n))) if (f.kind === 'frame') out.push(JSON.parse(f.text));
            at += n;
          }
          expect(out).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('depth and parsing', () => {
  it('measures depth outside strings only', () => {
    expect(jsonDepth('[[{"a":"[[[[["}]]]')).toBe(3);
    expect(jsonDepth('"\\"[[["')).toBe(0);
    expect(parseFrame(`${'['.repeat(33)}${']'.repeat(33)}`)).toEqual({ ok: false, reason: 'nesting deeper than 32' });
    expect(parseFrame(`${'['.repeat(32)}${']'.repeat(32)}`).ok).toBe(true);
    expect(parseFrame('{')).toEqual({ ok: false, reason: 'frame is not valid JSON' });
  });
});

describe('envelope classification', () => {
  it('classifies what the agent receives', () => {
    expect(classifyAtAgent({ id: 1, method: 'status' })).toEqual({
      kind: 'request',
      frame: { id: 1, method: 'status', params: {} },
    });
    expect(classifyAtAgent({ id: 1, method: 'status', extra: 1 }).kind).toBe('invalid');
    expect(classifyAtAgent({ id: {}, method: 'status' })).toMatchObject({ kind: 'invalid', id: null });
    expect(classifyAtAgent({ rid: 3, result: { ok: 1 } })).toEqual({
      kind: 'reverse-response',
      frame: { rid: 3, result: { ok: 1 } },
    });
    expect(classifyAtAgent({ rid: 3, error: { code: 'E_NOPE', message: 'x' } })).toEqual({
      kind: 'reverse-response',
      frame: { rid: 3, error: { code: 'E_INTERNAL', message: 'x' } },
    });
    expect(classifyAtAgent([1, 2]).kind).toBe('invalid');
    expect(classifyAtAgent(null).kind).toBe('invalid');
  });

  it('classifies what a client receives', () => {
    expect(classifyAtClient({ id: 1, result: 2 }).kind).toBe('response');
    expect(classifyAtClient({ id: null, error: { code: 'E_IPC_LIMIT', message: 'x' } }).kind).toBe('response');
    expect(classifyAtClient({ event: 'state', seq: 1, data: {} }).kind).toBe('event');
    expect(classifyAtClient({ rid: 1, request: 'certs.list', params: {} }).kind).toBe('reverse-request');
    expect(classifyAtClient({ what: 1 }).kind).toBe('invalid');
  });
});
