/** Address/prefix parsing and the IPv4/UDP builder used for TUN traffic. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildUdp4, formatIpv6, internetChecksum, parsePrefix, parseIpv6, parseUdp4 } from '@tandem/tunnel';

describe('parsePrefix', () => {
  it('accepts the forms gateways push and clears host bits like openconnect', () => {
    expect(parsePrefix('10.1.2.3/255.255.0.0')).toMatchObject({ family: 4, address: '10.1.0.0', prefix: 16, netmask: '255.255.0.0', hostBitsFixed: true });
    expect(parsePrefix('10.1.0.0/16')).toMatchObject({ address: '10.1.0.0', prefix: 16, hostBitsFixed: false });
    expect(parsePrefix('0.0.0.0/0')).toMatchObject({ address: '0.0.0.0', prefix: 0, netmask: '0.0.0.0' });
    expect(parsePrefix('192.0.2.7')).toMatchObject({ prefix: 32 });
    expect(parsePrefix('fd00:1::5/48')).toMatchObject({ family: 6, address: 'fd00:1::', prefix: 48, hostBitsFixed: true });
    expect(parsePrefix('::ffff:10.1.2.3/128')).toMatchObject({ address: '::ffff:a01:203' });
  });
  it('refuses anything else', () => {
    for (const bad of ['1.2.3.4/33', '1.2.3.4/255.0.0.255', '01.2.3.4/8', '1.2.3/8', '::/129', 'fe80::1%eth0/64', '1.2.3.4/', '1.2.3.4/ 8', 'x']) expect(parsePrefix(bad)).toBeNull();
  });
  it('round-trips random IPv6 addresses through the formatter', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIpv6(bytes);
        expect(parseIpv6(text)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });
});

describe('IPv4/UDP packets', () => {
  it('builds packets with valid checksums that parse back', () => {
    const p = buildUdp4({ src: '10.233.60.2', dst: '10.233.60.1', srcPort: 9000, dstPort: 7000, payload: Buffer.from('pong-1') });
    expect(p.length).toBe(34);
    expect(internetChecksum(p, 0, 20)).toBe(0);
    expect(parseUdp4(p)).toMatchObject({ src: '10.233.60.2', dst: '10.233.60.1', srcPort: 9000, dstPort: 7000 });
    expect(Buffer.from(parseUdp4(p)!.payload).toString()).toBe('pong-1');
    const corrupt = Buffer.from(p);
    corrupt[30] = corrupt[30]! ^ 1;
    expect(parseUdp4(corrupt)).toBeNull();
  });
});
