/**
 * The ClientHello reader sees raw bytes from a public UDP port: a well-formed hello gives its
 * session id and random, every truncation and every wrong field gives null, and no input throws.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClientHello } from '../src/client-hello.js';

/** A DTLS 1.2 ClientHello record with `id` as its session id, one suite, no extensions. */
function hello(id: Buffer, random = randomBytes(32)): Buffer {
  const body = Buffer.concat([
    Buffer.of(0xfe, 0xfd),
    random,
    Buffer.of(id.length),
    id,
    Buffer.of(0, 0, 2, 0, 0xa9, 1, 0),
  ]);
  const hs = Buffer.alloc(12);
  hs[0] = 1;
  hs.writeUIntBE(body.length, 1, 3);
  hs.writeUIntBE(body.length, 9, 3);
  const rec = Buffer.alloc(13);
  rec[0] = 22;
  rec.writeUInt16BE(0xfeff, 1);
  rec.writeUInt16BE(hs.length + body.length, 11);
  return Buffer.concat([rec, hs, body]);
}

describe('parseClientHello', () => {
  it('reads the session id and the random of a well-formed ClientHello', () => {
    const id = randomBytes(32);
    const random = randomBytes(32);
    expect(parseClientHello(hello(id, random))).toEqual({ sessionId: id, random });
    expect(parseClientHello(hello(Buffer.of(7)))?.sessionId).toEqual(Buffer.of(7));
  });

  it('refuses every truncation of it', () => {
    const full = hello(randomBytes(32));
    for (let n = 0; n < full.length; n++) expect(parseClientHello(full.subarray(0, n)), `length ${n}`).toBeNull();
  });

  it.each([
    ['another content type', (b: Buffer) => (b[0] = 23)],
    ['a TLS record version', (b: Buffer) => (b[1] = 0x03)],
    ['a non-zero epoch', (b: Buffer) => (b[4] = 1)],
    ['a record length past the datagram', (b: Buffer) => b.writeUInt16BE(b.length, 11)],
    ['another handshake type', (b: Buffer) => (b[13] = 2)],
    ['a later fragment', (b: Buffer) => b.writeUIntBE(1, 19, 3)],
    ['a fragment that ends before the session id', (b: Buffer) => b.writeUIntBE(40, 22, 3)],
    ['an empty session id', (b: Buffer) => (b[59] = 0)],
    ['a session id longer than 32', (b: Buffer) => (b[59] = 33)],
  ])('refuses %s', (_name, spoil) => {
    const b = hello(randomBytes(32));
    spoil(b);
    expect(parseClientHello(b)).toBeNull();
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseClientHello(bytes);
        expect(r === null || (r.sessionId.length > 0 && r.sessionId.length <= 32)).toBe(true);
      }),
    );
    // Mutations of a real hello reach the deeper checks.
    const base = hello(randomBytes(32));
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(255), (i, v) => {
        const b = Buffer.from(base);
        b[i] = v;
        const r = parseClientHello(b);
        expect(r === null || r.sessionId.length <= 32).toBe(true);
      }),
    );
  });
});
