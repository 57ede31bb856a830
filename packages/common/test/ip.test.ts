/**
 * The one address/prefix parser: fixed examples of what gateways push, and properties over
 * random addresses (round trips, host bits cleared, netmask ⇔ length, node's own formatter as
 * the oracle for RFC 5952 output, nothing but address characters ever coming out).
 */
import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIpv4,
  formatIpv6,
  ipv4Mask,
  netmaskToPrefix,
  normalizeAddress,
  parseAddressWithPrefix,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  prefixToNetmask,
} from '@tandem/common';

const v4 = fc.integer({ min: 0, max: 0xffffffff });
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 });

/** WHATWG URL serialises IPv6 hosts per RFC 5952: an independent formatter to compare with. */
function nodeCanonical6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

describe('parsePrefix: examples', () => {
  it('accepts the forms gateways push and clears host bits like openconnect', () => {
    expect(parsePrefix('10.1.2.3/255.255.0.0')).toMatchObject({
      family: 4,
      address: '10.1.0.0',
      prefix: 16,
      netmask: '255.255.0.0',
      hostBitsFixed: true,
    });
    expect(parsePrefix('10.1.0.0/16')).toMatchObject({ address: '10.1.0.0', prefix: 16, hostBitsFixed: false });
    expect(parsePrefix('0.0.0.0/0')).toMatchObject({ address: '0.0.0.0', prefix: 0, netmask: '0.0.0.0' });
    expect(parsePrefix('192.0.2.7')).toMatchObject({ prefix: 32 });
    expect(parsePrefix('fd00:1::5/48')).toMatchObject({
      family: 6,
      address: 'fd00:1::',
      prefix: 48,
      hostBitsFixed: true,
    });
    expect(parsePrefix('::ffff:10.1.2.3/128')).toMatchObject({ address: '::ffff:a01:203' });
  });
  it('refuses anything else', () => {
    for (const bad of [
      '1.2.3.4/33',
      '1.2.3.4/255.0.0.255',
      '01.2.3.4/8',
      '1.2.3/8',
      '::/129',
      'fe80::1%eth0/64',
      '1.2.3.4/',
      '1.2.3.4/ 8',
      'x',
      '0x7f.1.1.1/8',
      '1.2.3.4/8\n',
      ' 1.2.3.4/8',
    ]) {
      expect(parsePrefix(bad), bad).toBeNull();
    }
  });
  it('interface addresses keep their host bits', () => {
    expect(parseAddressWithPrefix('fd00::5/64')).toEqual({ family: 6, address: 'fd00::5', prefix: 64 });
    expect(parseAddressWithPrefix('10.0.0.5/24')).toEqual({ family: 4, address: '10.0.0.5', prefix: 24 });
    for (const bad of ['fd00::5', 'fd00::5/129', '10.0.0.5/33', '10.0.0.5/255.255.255.0', 'x/8'])
      expect(parseAddressWithPrefix(bad), bad).toBeNull();
  });
});

describe('property: addresses and prefixes', () => {
  it('IPv4 formats and parses back, and agrees with node:net', () => {
    fc.assert(
      fc.property(v4, (n) => {
        const text = formatIpv4(n);
        expect(isIPv4(text)).toBe(true);
        expect(parseIpv4(text)).toBe(n);
        expect(normalizeAddress(text)).toEqual({ family: 4, address: text });
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv6 formats as node does and parses back', () => {
    fc.assert(
      fc.property(v6, (bytes) => {
        const text = formatIpv6(bytes);
        expect(text).toBe(nodeCanonical6(text));
        expect(parseIpv6(text)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('any spelling fast-check generates normalises to node’s canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        expect(normalizeAddress(text)?.address).toBe(nodeCanonical6(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('netmask ⇔ prefix length for every length; any non-contiguous mask is refused', () => {
    for (let p = 0; p <= 32; p++) expect(netmaskToPrefix(prefixToNetmask(p))).toBe(p);
    fc.assert(
      fc.property(v4, (n) => {
        const contiguous = Array.from({ length: 33 }, (_, p) => ipv4Mask(p)).includes(n);
        expect(netmaskToPrefix(formatIpv4(n)) !== null).toBe(contiguous);
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv4 prefixes: host bits cleared, /len and dotted mask agree, the result is a fixed point', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), (n, len) => {
        const r = parsePrefix(`${formatIpv4(n)}/${len}`);
        expect(r).not.toBeNull();
        expect(parseIpv4(r!.address)! & ~ipv4Mask(len)).toBe(0);
        expect(r!.hostBitsFixed).toBe((n & ~ipv4Mask(len)) >>> 0 !== 0);
        expect(parsePrefix(`${formatIpv4(n)}/${prefixToNetmask(len)}`)).toEqual(r);
        expect(parsePrefix(`${r!.address}/${r!.prefix}`)).toEqual({ ...r, hostBitsFixed: false });
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv6 prefixes: bits past the length are zero, the rest are kept, the result is a fixed point', () => {
    fc.assert(
      fc.property(v6, fc.integer({ min: 0, max: 128 }), (bytes, len) => {
        const r = parsePrefix(`${formatIpv6(bytes)}/${len}`);
        expect(r).toMatchObject({ family: 6, prefix: len });
        const net = parseIpv6(r!.address)!;
        for (let bit = 0; bit < 128; bit++) {
          const mask = 0x80 >> (bit & 7);
          const want = bit < len ? bytes[bit >> 3]! & mask : 0;
          expect(net[bit >> 3]! & mask).toBe(want);
        }
        expect(parsePrefix(`${r!.address}/${len}`)).toEqual({ ...r, hostBitsFixed: false });
      }),
      { numRuns: 300 },
    );
  });

  it('whatever is accepted comes out as address characters only (never CR, LF, quotes or spaces)', () => {
    const noisy = fc.oneof(
      fc.string({ maxLength: 50 }),
      fc.tuple(fc.ipV4(), fc.string({ maxLength: 6 })).map(([a, s]) => `${a}${s}`),
      fc.tuple(fc.ipV6(), fc.string({ maxLength: 6 })).map(([a, s]) => `${a}${s}`),
    );
    fc.assert(
      fc.property(noisy, (text) => {
        const out = [parsePrefix(text), normalizeAddress(text), parseAddressWithPrefix(text)].filter((r) => r !== null);
        for (const r of out) expect(r.address).toMatch(/^[0-9a-f.:]+$/);
      }),
      { numRuns: 3000 },
    );
  });
});
