/** The platform suites' echo responder, checked here with a request built byte by byte. */
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '@tandem/tunnel';
import { echoReply, echoRequest } from './packets.js';

/** An IPv4 ICMP echo request 10.99.0.1 → 10.99.0.2, id 0x1234, seq 7, 8 bytes of data. */
function request(): Buffer {
  const p = Buffer.alloc(36);
  p[0] = 0x45;
  p.writeUInt16BE(36, 2);
  p[8] = 128;
  p[9] = 1;
  p.set([10, 99, 0, 1], 12);
  p.set([10, 99, 0, 2], 16);
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10);
  p[20] = 8;
  p.writeUInt16BE(0x1234, 24);
  p.writeUInt16BE(7, 26);
  p.write('tandem!!', 28);
  p.writeUInt16BE(internetChecksum(p, 20, 36), 22);
  return p;
}

describe('echo responder', () => {
  it('recognises a request and nothing else', () => {
    expect(echoRequest(request())).toEqual({ src: '10.99.0.1', dst: '10.99.0.2' });
    const udp = request();
    udp[9] = 17;
    expect(echoRequest(udp)).toBeNull();
    const reply = echoReply(request());
    expect(echoRequest(reply)).toBeNull();
    expect(echoRequest(Buffer.from([0x60, 0, 0, 0]))).toBeNull();
  });

  it('answers with addresses swapped, type 0, the same id, sequence and data, and valid checksums', () => {
    const r = echoReply(request());
    expect([...r.subarray(12, 16)]).toEqual([10, 99, 0, 2]);
    expect([...r.subarray(16, 20)]).toEqual([10, 99, 0, 1]);
    expect(r[20]).toBe(0);
    expect(r.readUInt16BE(24)).toBe(0x1234);
    expect(r.readUInt16BE(26)).toBe(7);
    expect(r.subarray(28).toString()).toBe('tandem!!');
    // A correct checksum makes the sum over the covered bytes fold to zero.
    expect(internetChecksum(r, 0, 20)).toBe(0);
    expect(internetChecksum(r, 20, r.length)).toBe(0);
  });
});
