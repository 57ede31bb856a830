/**
 * Unit tests of the gateway's pieces without sockets: PKCS#7 bundles, signature verification
 * over exact bytes, challenge single use and TTL, username mapping, the strict HTTP head
 * parser, client XML refusal, the echo responder and option parsing.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseClientDoc, XmlRejected } from '../src/config-auth.js';
import { echoReply, inetChecksum } from '../src/data-plane.js';
import { offersPskNegotiate } from '../src/dtls-channel.js';
import { HttpError, parseHead } from '../src/http-server.js';
import { verifyChallengeSignature } from '../src/mca-verify.js';
import { parseOptions } from '../src/options.js';
import { manifestXml, offerAt, type OfferedProfile } from '../src/profiles.js';
import { parseBundle, Pkcs7Error } from '../src/pkcs7.js';
import { AddressPool, ChallengeStore } from '../src/sessions.js';
import { usernameFrom } from '../src/username.js';
import { certsOnly, signChallenge } from './client.js';
import { EKU, issue, KU, standardLab, type Issued, type Lab } from '@tandem/testkit';

let lab: Lab;
let rsaUser: Issued;
let uidUser: Issued;
const der = (i: Issued): Buffer => Buffer.from(i.cert.rawData);
const node = (i: Issued): X509Certificate => new X509Certificate(der(i));

beforeAll(async () => {
  lab = await standardLab('tlg-unit');
  rsaUser = await issue(
    { subject: 'CN=bob, OU=staff, O=Tandem Lab', key: 'rsa2048', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
    lab.intermediate,
  );
  uidUser = await issue(
    {
      subject: 'CN=Carol Example, 0.9.2342.19200300.100.1.1=carol, E=carol@lab.test, OU=a, OU=b, O=Tandem Lab',
      keyUsage: KU.digitalSignature,
      eku: [EKU.clientAuth],
    },
    lab.intermediate,
  );
});

describe('PKCS#7 certs-only bundles', () => {
  const b64 = (buf: Buffer): string => buf.toString('base64').replace(/(.{64})/g, '$1\n');

  it('parses a sorted bundle and returns leaf then chain', () => {
    const b = parseBundle(b64(certsOnly([der(lab.user), der(lab.intermediate)])));
    expect(b.leaf.subject).toContain('CN=alice');
    expect(b.chain.map((c) => c.subject)).toEqual([node(lab.intermediate).subject]);
    expect(b.eContentType).toBe('1.2.840.113549.1.7.1');
  });

  it('parses an unsorted bundle with the root and whitespace in the base64', () => {
    const text = ` ${b64(certsOnly([der(lab.intermediate), der(lab.root), der(lab.user)], false))}\r\n\t`;
    const b = parseBundle(text);
    expect(b.chain).toHaveLength(2);
    expect(b.chain[1]?.subject).toContain('Root');
  });

  it('accepts the GnuTLS digestedData eContentType and a leaf alone', () => {
    expect(parseBundle(b64(certsOnly([der(lab.user)], true, '1.2.840.113549.1.7.5'))).chain).toEqual([]);
  });

  it.each([
    [
      'a duplicate CA',
      () => certsOnly([der(lab.user), der(lab.intermediate), der(lab.intermediate)], false),
      /duplicate CA/,
    ],
    ['two end-entity certificates', () => certsOnly([der(lab.user), der(lab.machine)]), /2 end-entity/],
    ['only CA certificates', () => certsOnly([der(lab.intermediate), der(lab.root)]), /no end-entity/],
    [
      'a CA not on the chain',
      async () => {
        const other = await issue({ subject: 'CN=Other CA', ca: true, keyUsage: KU.keyCertSign });
        return certsOnly([der(lab.user), der(lab.intermediate), der(other)]);
      },
      /not on the end-entity's chain/,
    ],
    ['garbage', () => Buffer.from('not a pkcs7 structure'), /does not parse/],
  ])('rejects %s', async (_n, make, reason) => {
    const bytes = await make();
    expect(() => parseBundle(b64(bytes))).toThrow(Pkcs7Error);
    expect(() => parseBundle(b64(bytes))).toThrow(reason);
  });

  it('rejects non-base64 text', () => {
    expect(() => parseBundle('***')).toThrow(/not valid base64/);
  });
});

describe('signature over the exact challenge bytes', () => {
  const challenge = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="auth-request">\n</config-auth>\n',
  );

  it.each([
    ['ECDSA P-256', () => lab.user],
    ['RSA PKCS#1 v1.5', () => rsaUser],
  ])('%s verifies over the bytes and fails with one extra byte', (_n, who) => {
    for (const hash of ['sha256', 'sha384', 'sha512']) {
      const sig = signChallenge(challenge, createPrivateKey(who().keyPem), hash);
      expect(verifyChallengeSignature(node(who()), hash, challenge, sig)).toBe(true);
      expect(verifyChallengeSignature(node(who()), hash, Buffer.concat([challenge, Buffer.from('\n')]), sig)).toBe(
        false,
      );
    }
  });

  it('fails for the wrong key and for a signature made with another hash', () => {
    const sig = signChallenge(challenge, createPrivateKey(lab.machine.keyPem));
    expect(verifyChallengeSignature(node(lab.user), 'sha512', challenge, sig)).toBe(false);
    const sig256 = signChallenge(challenge, createPrivateKey(rsaUser.keyPem), 'sha256');
    expect(verifyChallengeSignature(node(rsaUser), 'sha512', challenge, sig256)).toBe(false);
  });
});

describe('challenge store', () => {
  const entry = (handle: string) => ({ handle, body: Buffer.from('x'), machineFingerprint: 'AA', hashes: ['sha512'] });

  it('is single use and refuses unknown handles', () => {
    const store = new ChallengeStore(60_000);
    const h = store.newHandle();
    store.put(entry(h));
    expect(store.take(h)).toMatchObject({ handle: h });
    expect(store.take(h)).toEqual({ missing: 'unknown or already used aggauth-handle' });
    expect(store.take('999')).toEqual({ missing: 'unknown or already used aggauth-handle' });
  });

  it('expires after the TTL', () => {
    let now = 1000;
    const store = new ChallengeStore(5000, () => now);
    store.put(entry('1'));
    now += 5001;
    expect(store.take('1')).toEqual({ missing: 'challenge expired' });
    store.put(entry('2'));
    now += 10_000;
    expect(store.size).toBe(0);
  });
});

describe('username mapping', () => {
  it.each([
    ['CN', 'Carol Example'],
    ['UID', 'carol'],
    ['EA', 'carol@lab.test'],
    ['OU', 'a'],
    ['O', 'Tandem Lab'],
    ['DN', 'CN=Carol Example, UID=carol, E=carol@lab.test, OU=a, OU=b, O=Tandem Lab'],
    ['DC', null],
  ])('%s → %s', (field, expected) => {
    expect(usernameFrom(node(uidUser), field)).toBe(expected);
  });
});

describe('strict HTTP head parser', () => {
  it('parses repeated headers case-insensitively', () => {
    const r = parseHead('CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nCookie: webvpn=x\r\nX-A: 1\r\nx-a: 2');
    expect(r.method).toBe('CONNECT');
    expect(r.headers.get('x-a')).toEqual(['1', '2']);
  });

  it.each([
    ['GET / HTTP/2.0'],
    ['get / HTTP/1.1'],
    ['GET  / HTTP/1.1'],
    ['GET / HTTP/1.1\r\n folded'],
    ['GET / HTTP/1.1\r\nBad Name: x'],
    ['GET / HTTP/1.1\r\nnocolon'],
  ])('rejects %j', (head) => {
    expect(() => parseHead(head)).toThrow(HttpError);
  });

  it('caps the number of header lines', () => {
    const head = `GET / HTTP/1.1\r\n${Array.from({ length: 101 }, (_, i) => `X-${i}: y`).join('\r\n')}`;
    expect(() => parseHead(head)).toThrow(/too many header lines/);
  });
});

describe('client XML', () => {
  it('extracts init capabilities, group and client-cert-fail', () => {
    const doc = parseClientDoc(
      Buffer.from(
        '<?xml version="1.0"?><config-auth client="vpn" type="init"><capabilities><auth-method>multiple-cert</auth-method></capabilities><group-select>LAB</group-select><client-cert-fail/></config-auth>',
      ),
    );
    expect(doc).toMatchObject({
      type: 'init',
      authMethods: ['multiple-cert'],
      groupSelect: 'LAB',
      clientCertFail: true,
    });
  });

  it.each([
    [
      '<!DOCTYPE config-auth [<!ENTITY x SYSTEM "file:///etc/passwd">]><config-auth client="vpn" type="init">&x;</config-auth>',
      /DOCTYPE/,
    ],
    ['<config-auth client="vpn" type="init">', /malformed XML/],
    ['<other/>', /root element/],
    ['<config-auth client="web" type="init"/>', /client is not/],
  ])('refuses %s', (xml, reason) => {
    expect(() => parseClientDoc(Buffer.from(xml))).toThrow(XmlRejected);
    expect(() => parseClientDoc(Buffer.from(xml))).toThrow(reason);
  });
});

describe('echo responder and pool', () => {
  it('turns an echo request into a reply with valid checksums', () => {
    const req = Buffer.from('4500001c00004000400100000a0a0a020a0a0a010800000000010001', 'hex');
    req.writeUInt16BE(inetChecksum(req.subarray(0, 20)), 10);
    req.writeUInt16BE(inetChecksum(req.subarray(20)), 22);
    const rep = echoReply(req)!;
    expect([...rep.subarray(12, 20)]).toEqual([10, 10, 10, 1, 10, 10, 10, 2]);
    expect(rep[20]).toBe(0);
    expect(inetChecksum(rep.subarray(0, 20))).toBe(0);
    expect(inetChecksum(rep.subarray(20))).toBe(0);
    expect(echoReply(Buffer.from('600000000000', 'hex'))).toBeNull();
  });

  it('leases host addresses after the gateway address and reuses released ones', () => {
    const pool = new AddressPool('10.232.9.0/30');
    expect(pool.gateway).toBe('10.232.9.1');
    expect(pool.lease()).toBe('10.232.9.2');
    expect(pool.lease()).toBeNull();
    pool.release('10.232.9.2');
    expect(pool.lease()).toBe('10.232.9.2');
  });
});

describe('options', () => {
  const base = ['--listen', '127.0.0.1:0', '--cert', 'c', '--key', 'k', '--ca', 'a'];
  it('defaults username-from to second with --mca and first without', () => {
    expect(parseOptions([...base, '--mca'])?.usernameFrom).toBe('second');
    expect(parseOptions(base)?.usernameFrom).toBe('first');
    expect(parseOptions(['--help'])).toBeNull();
  });
  it('offers DTLS unless --no-dtls', () => {
    expect(parseOptions(base)?.dtls).toBe(true);
    expect(parseOptions([...base, '--no-dtls'])?.dtls).toBe(false);
  });
  it.each([
    [['--listen', 'nope']],
    [[...base, '--bogus']],
    [[...base, '--pool', '10.0.0.0/33']],
    [[...base, '--username-field', 'XX']],
    [[...base, '--profile-sha1', 'not-hex']],
    [[...base, '--profile-uri', 'with space']],
    [['--cert', 'c']],
  ])('rejects %j', (argv) => {
    expect(() => parseOptions(argv)).toThrow();
  });
});

describe('DTLS offer', () => {
  const req = (headers: string) => ({
    ...parseHead(`CONNECT /CSCOSSLC/tunnel HTTP/1.1${headers}`),
    body: Buffer.alloc(0),
  });
  it.each([
    ['\r\nX-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM', true],
    ['\r\nX-DTLS-CipherSuite: AES256-SHA\r\nX-DTLS12-CipherSuite: AES128-GCM-SHA256:PSK-NEGOTIATE', true],
    ['\r\nX-DTLS-CipherSuite: AES256-SHA:OC-DTLS1_2-AES128-GCM', false],
    ['\r\nX-DTLS-CipherSuite: XPSK-NEGOTIATE', false],
    ['', false],
  ])('%j offers PSK-NEGOTIATE: %s', (headers, offered) => {
    expect(offersPskNegotiate(req(headers))).toBe(offered);
  });
});

describe('offered profiles', () => {
  const offer: OfferedProfile = {
    serviceType: 'user',
    uri: '/CACHE/../profiles/a&b.xml',
    path: '/profiles/a&b.xml',
    sha1: 'AB'.repeat(20),
    body: Buffer.from('<AnyConnectProfile/>'),
  };
  it('the manifest lists each offer with its escaped URI and hash; none offered, no manifest', () => {
    expect(manifestXml([offer])).toBe(
      '<vpn-profile-manifest>\n<vpn rev="1.0">\n<file type="profile" service-type="user">\n' +
        `<uri>/CACHE/../profiles/a&amp;b.xml</uri>\n<hash type="sha1">${'AB'.repeat(20)}</hash>\n</file>\n</vpn>\n</vpn-profile-manifest>\n`,
    );
    expect(manifestXml([])).toBe('');
  });
  it('a GET finds an offer by the path a client resolves from its URI, nothing else', () => {
    expect(offerAt([offer], '/profiles/a&b.xml')).toBe(offer);
    expect(offerAt([offer], '/CACHE/../profiles/a&b.xml')).toBe(offer);
    expect(offerAt([offer], '/profiles/other.xml')).toBeUndefined();
  });
});
