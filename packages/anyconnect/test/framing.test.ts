import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { FrameDecoder, PacketType, encodeFrame, encodeLogout, type PacketTypeCode } from '../src/framing.js';

const types = Object.values(PacketType).filter((t) => t !== PacketType.COMPRESSED) as PacketTypeCode[];

describe('CSTP framing', () => {
  it('encodes the captured wire bytes', () => {
    expect(encodeFrame(PacketType.DPD_REQ).toString('hex')).toBe('5354460100000300');
    expect(encodeLogout('Client logout').toString('hex')).toBe('53544601000e0500b0436c69656e74206c6f676f7574');
  });

  it('decodes identically however the stream is split (10k runs)', () => {
    const frame = fc.record({ type: fc.constantFrom(...types), payload: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, Buffer.from(f.payload))));
          const dec = new FrameDecoder();
          const out: Array<{ type: number; payload: string }> = [];
          let off = 0;
          let i = 0;
          while (off < wire.length) {
            const n = cuts[i++ % cuts.length] ?? 1;
            for (const f of dec.push(wire.subarray(off, off + n)))
              out.push({ type: f.type, payload: Buffer.from(f.payload).toString('hex') });
            off += n;
            expect(dec.buffered).toBeLessThanOrEqual(8 + 0xffff);
          }
          expect(out).toEqual(frames.map((f) => ({ type: f.type, payload: Buffer.from(f.payload).toString('hex') })));
          expect(dec.buffered).toBe(0);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('turns any byte stream into frames or a typed protocol error (10k runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const dec = new FrameDecoder({ maxPayload: 1500 });
        try {
          dec.push(Buffer.from(bytes));
        } catch (err) {
          expect(isTandemError(err, 'E_PROTOCOL')).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('rejects bad magic, reserved byte, unknown type, un-negotiated compression and over-MTU frames', () => {
    const bad =
      (hex: string, opts = {}) =>
      () =>
        new FrameDecoder(opts).push(Buffer.from(hex, 'hex'));
    expect(bad('5354460200000000')).toThrow(/magic/);
    expect(bad('5354460100000001')).toThrow(/reserved/);
    expect(bad('5354460100000600')).toThrow(/unknown CSTP packet type 0x06/);
    expect(bad('5354460100000800')).toThrow(/compressed/);
    expect(bad('5354460105dd0000', { maxPayload: 1500 })).toThrow(/exceeds/);
    expect(bad('41')).toThrow(/magic/);
  });
});
