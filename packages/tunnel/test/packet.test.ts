/** The IPv4/UDP builder used for TUN traffic. */
import { describe, expect, it } from 'vitest';
import { buildUdp4, internetChecksum, parseUdp4 } from '@tandem/tunnel';

describe('IPv4/UDP packets', () => {
  it('builds packets with valid checksums that parse back', () => {
    const p = buildUdp4({
      src: '10.233.60.2',
      dst: '10.233.60.1',
      srcPort: 9000,
      dstPort: 7000,
      payload: Buffer.from('pong-1'),
    });
    expect(p.length).toBe(34);
    expect(internetChecksum(p, 0, 20)).toBe(0);
    expect(parseUdp4(p)).toMatchObject({ src: '10.233.60.2', dst: '10.233.60.1', srcPort: 9000, dstPort: 7000 });
    expect(Buffer.from(parseUdp4(p)!.payload).toString()).toBe('pong-1');
    const corrupt = Buffer.from(p);
    corrupt[30] = corrupt[30]! ^ 1;
    expect(parseUdp4(corrupt)).toBeNull();
  });
});
