/**
 * Property tests (fast-check, ≥ 10k runs each): random and mutated gateway input to the
 * response-head parser, the CONNECT tunnel-configuration parser and the gateway-XML parser
 * either yields a value or throws a typed TandemError — never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGatewayDocument, parseHead, parseTunnelConfig } from '../src/index.js';
import { isTandemError } from '@tandem/common';

const RUNS = 10_000;

function valueOrTyped(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (isTandemError(err)) return true;
    throw err;
  }
}

const GOOD_HEADERS: Array<[string, string]> = [
  ['x-cstp-version', '1'],
  ['x-cstp-address', '192.168.77.146'],
  ['x-cstp-netmask', '255.255.255.0'],
  ['x-cstp-dns', '192.168.77.1'],
  ['x-cstp-default-domain', 'corp.proto.test'],
  ['x-cstp-split-dns', 'corp.proto.test'],
  ['x-cstp-split-include', '10.77.0.0/255.255.0.0'],
  ['x-cstp-split-exclude', '10.77.99.0/255.255.255.0'],
  ['x-cstp-split-include-ip6', 'fd00::/64'],
  ['x-cstp-address-ip6', 'fd00::5/64'],
  ['x-cstp-mtu', '1434'],
  ['x-cstp-base-mtu', '1500'],
  ['x-cstp-dpd', '60'],
  ['x-cstp-keepalive', '300'],
  ['x-cstp-idle-timeout', 'none'],
  ['x-cstp-session-timeout', '86400'],
  ['x-cstp-rekey-time', '172819'],
  ['x-cstp-rekey-method', 'ssl'],
  ['x-dtls-app-id', '7d9fe87fa71d84486cce1de82fe77ad31fa5f98cf6a67cbd20c71e93b58604ad'],
  ['x-dtls-port', '443'],
];

const headerName = fc.oneof(
  fc.constantFrom(
    ...GOOD_HEADERS.map(([k]) => k),
    'x-dtls-mtu',
    'x-cstp-nbns',
    'x-cstp-dns-ip6',
    'x-cstp-tunnel-all-dns',
    'x-dtls-session-id',
  ),
  fc.string({ maxLength: 20 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    ...GOOD_HEADERS.map(([, v]) => v),
    '',
    'none',
    '-1',
    '99999999',
    '1.2.3.4/33',
    '::/129',
    '0.0.0.0/0.0.0.0',
    'a..b',
    'x'.repeat(300),
  ),
  fc.string({ maxLength: 80 }),
  fc.integer({ min: -10, max: 100_000 }).map(String),
  fc.tuple(fc.ipV4(), fc.nat({ max: 40 })).map(([ip, len]) => `${ip}/${len}`),
  fc.ipV6(),
);

describe('property: gateway input parsers', () => {
  it('CONNECT tunnel configuration: random and mutated header sets', () => {
    const mutated = fc
      .tuple(fc.subarray(GOOD_HEADERS), fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }))
      .map(([a, b]) => [...a, ...b].map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
    fc.assert(
      fc.property(mutated, (headers) =>
        valueOrTyped(() => {
          const cfg = parseTunnelConfig({ headers });
          // Whatever is accepted is within range.
          expect(cfg.mtu).toBeGreaterThanOrEqual(576);
          expect(cfg.mtu).toBeLessThanOrEqual(9000);
          expect(cfg.dpd).toBeLessThanOrEqual(3600);
          expect(cfg.dns.length).toBeLessThanOrEqual(3);
        }),
      ),
      { numRuns: RUNS },
    );
  });

  it('response head parser: arbitrary bytes and mutated heads', () => {
    const head = 'HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\nX-CSTP-MTU: 1400\r\nSet-Cookie: webvpn=abc; Secure';
    const mutatedHead = fc
      .tuple(fc.nat({ max: head.length }), fc.nat({ max: 8 }), fc.string({ maxLength: 8 }))
      .map(([at, del, ins]) => Buffer.from(head.slice(0, at) + ins + head.slice(at + del), 'latin1'));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
          mutatedHead,
        ),
        (buf) => valueOrTyped(() => parseHead(buf)),
      ),
      { numRuns: RUNS },
    );
  });

  it('gateway XML parser: random strings and mutated captured documents', () => {
    const docs = [
      '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="auth-request" aggregate-auth-version="2"><opaque is-for="sg"><tunnel-group>T</tunnel-group></opaque><multiple-client-cert-request><hash-algorithm>sha256</hash-algorithm></multiple-client-cert-request><random>AB</random></config-auth>',
      '<config-auth client="vpn" type="auth-request"><auth id="main"><message>m</message><form method="post" action="/auth"><select name="group_list" label="G"><option>a</option></select><input type="password" name="p" label="P"/></form></auth></config-auth>',
      '<config-auth client="vpn" type="complete"><session-token>t</session-token><auth id="success"/><config><vpn-profile-manifest><vpn rev="1.0"><file type="profile" service-type="user"><uri>/p.xml</uri><hash type="sha1">AA</hash></file></vpn></vpn-profile-manifest></config></config-auth>',
    ];
    const mutated = fc
      .tuple(
        fc.constantFrom(...docs),
        fc.nat(),
        fc.nat({ max: 20 }),
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('<', '>', '&', '<!DOCTYPE x>', '<opaque>', ']]>', '<!--', '&amp;', '"', '</config-auth>'),
        ),
      )
      .map(([d, at, del, ins]) => {
        const i = at % (d.length + 1);
        return d.slice(0, i) + ins + d.slice(i + del);
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ maxLength: 200 })), (text) =>
        valueOrTyped(() => parseGatewayDocument(Buffer.from(text, 'utf8'))),
      ),
      { numRuns: RUNS },
    );
  });
});
