/**
 * The gateway in-process over real TLS, driven by a hand-rolled client that can misbehave:
 * MCA success, wrong-key and extra-byte signatures, replayed and foreign handles, a different
 * machine certificate on the reply, unoffered hashes, revoked and unrelated certificates, then
 * CSTP (headers, DPD, echo, logout vs temporary disconnect) and hostile HTTP.
 */
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketType } from '@tandem/anyconnect';
import { startGateway, type RunningGateway } from '../src/main.js';
import { Events } from '../src/events.js';
import { parseOptions } from '../src/options.js';
import { crl, EKU, issue, KU, standardLab, type Issued, type Lab, writeCertAndKey } from '@tandem/testkit';
import {
  certsOnly,
  cstpConnect,
  CstpClient,
  initXml,
  opaqueOf,
  postXml,
  rawExchange,
  replyXml,
  signChallenge,
  type ClientTls,
} from './client.js';

type Ev = { event: string } & Record<string, unknown>;

describe('lab-gateway MCA and CSTP with a scripted client', () => {
  let lab: Lab;
  let revoked: Issued;
  let otherMachine: Issued;
  let gw: RunningGateway;
  const lines: string[] = [];
  const events = (): Ev[] => lines.map((l) => JSON.parse(l) as Ev);
  const last = (kind: string): Ev | undefined =>
    events()
      .filter((e) => e.event === kind)
      .pop();
  let machineTls: ClientTls;

  beforeAll(async () => {
    lab = await standardLab('tlg-mca');
    revoked = await issue(
      { subject: 'CN=revoked-user, O=Tandem Lab', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
      lab.intermediate,
    );
    otherMachine = await issue(
      { subject: 'CN=other.lab.test, O=Tandem Lab', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
      lab.intermediate,
    );
    const server = writeCertAndKey(lab.dir, 'server', lab.server, lab.server, [lab.intermediate]);
    const crlFile = join(lab.dir, 'crl.pem');
    writeFileSync(crlFile, await crl(lab.intermediate, [revoked]));
    const o = parseOptions([
      '--listen',
      '127.0.0.1:0',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      lab.caFile,
      '--crl',
      crlFile,
      '--mca',
      '--pool',
      '10.232.200.0/24',
      '--echo',
      '--dpd',
      '5',
      '--split-include',
      '10.232.0.0/16',
      '--dns',
      '10.232.200.1',
      '--default-domain',
      'lab.test',
      '--banner',
      'Lab only',
    ]);
    gw = await startGateway(o!, new Events((l) => lines.push(l)));
    machineTls = { ca: lab.root.certPem, cert: lab.machine.certPem, key: lab.machine.keyPem };
  });
  afterAll(async () => gw?.close());

  async function challenge(tls: ClientTls = machineTls): Promise<Buffer> {
    const r = await postXml(gw.port, tls, initXml());
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('<multiple-client-cert-request>');
    return r.body;
  }

  function bundleFor(user: Issued, extra: Issued[] = [lab.intermediate]): Buffer {
    return certsOnly([user.cert, ...extra.map((e) => e.cert)].map((c) => Buffer.from(c.rawData)));
  }

  async function reply(
    ch: Buffer,
    opts: {
      user?: Issued;
      signKey?: string;
      signed?: Buffer;
      hash?: string;
      bundle?: Buffer;
      opaque?: string;
      tls?: ClientTls;
    } = {},
  ) {
    const user = opts.user ?? lab.user;
    const sig = signChallenge(
      opts.signed ?? ch,
      createPrivateKey(opts.signKey ?? user.keyPem),
      opts.hash === 'sha1' ? 'sha256' : (opts.hash ?? 'sha512'),
    );
    return postXml(
      gw.port,
      opts.tls ?? machineTls,
      replyXml(opts.opaque ?? opaqueOf(ch), opts.bundle ?? bundleFor(user), opts.hash ?? 'sha512', sig),
    );
  }

  it('challenge has the documented shape: handle, hashes, 64-byte uppercase random, cert-authenticated', async () => {
    const body = (await challenge()).toString();
    expect(body).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">/,
    );
    expect(body).toMatch(/<aggauth-handle>\d+<\/aggauth-handle>/);
    expect(body).toContain(
      '<hash-algorithm>sha256</hash-algorithm>\n<hash-algorithm>sha384</hash-algorithm>\n<hash-algorithm>sha512</hash-algorithm>',
    );
    expect(body).toMatch(/<random>[0-9A-F]{128}<\/random>/);
    expect(body).toContain('<cert-authenticated></cert-authenticated>');
  });

  it('accepts a correct reply and issues a cookie that opens a tunnel; logout kills the cookie', async () => {
    const ch = await challenge();
    const r = await reply(ch);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('type="complete"');
    const cookie = /webvpn=([^;]+)/.exec(r.headers.get('set-cookie')?.[0] ?? '')?.[1] ?? '';
    expect(r.body.toString()).toContain(`<session-token>${cookie}</session-token>`);
    expect(last('session')).toMatchObject({ username: 'alice', authMode: 'multiple-certificate' });
    expect(lines.join('\n')).not.toContain(cookie);

    const t = await cstpConnect(gw.port, machineTls, cookie);
    expect(t).toBeInstanceOf(CstpClient);
    const c = t as CstpClient;
    expect(c.response.head).toMatch(/^HTTP\/1\.1 200 CONNECTED\r\n/);
    const h = (k: string): string[] => c.response.headers.get(k.toLowerCase()) ?? [];
    expect(h('X-CSTP-Address')).toEqual(['10.232.200.2']);
    expect(h('X-CSTP-Netmask')).toEqual(['255.255.255.0']);
    expect(h('X-CSTP-Split-Include')).toEqual(['10.232.0.0/255.255.0.0']);
    expect(h('X-CSTP-DNS')).toEqual(['10.232.200.1']);
    expect(h('X-CSTP-Default-Domain')).toEqual(['lab.test']);
    expect(h('X-CSTP-DPD')).toEqual(['5']);
    expect(h('X-CSTP-MTU')).toEqual(['1400']);
    expect(h('X-CSTP-Banner')).toEqual(['Lab only']);
    expect([...c.response.headers.keys()].filter((k) => k.startsWith('x-dtls'))).toEqual([]);
    expect(c.response.headers.has('content-length')).toBe(false);

    await c.send(PacketType.DPD_REQ, Buffer.from('abc'));
    expect((await c.next(PacketType.DPD_RESP)).payload.toString()).toBe('abc');
    expect(last('dpd')).toMatchObject({ address: '10.232.200.2' });
    expect(last('tunnel-up')).toMatchObject({ username: 'alice', address: '10.232.200.2' });
    await c.send(PacketType.KEEPALIVE);
    // ICMP echo request 10.232.200.2 → 10.232.200.1, id 7 seq 1.
    const icmp = Buffer.from('45000020000040004001000000000000000000000800000000070001616263646566', 'hex');
    Buffer.from([10, 232, 200, 2, 10, 232, 200, 1]).copy(icmp, 12);
    const echo = await import('../src/data-plane.js');
    icmp.writeUInt16BE(echo.inetChecksum(icmp.subarray(0, 20)), 10);
    icmp.writeUInt16BE(echo.inetChecksum(icmp.subarray(20)), 22);
    await c.send(PacketType.DATA, icmp.subarray(0, 32));
    const back = (await c.next(PacketType.DATA)).payload;
    expect([...back.subarray(12, 20)]).toEqual([10, 232, 200, 1, 10, 232, 200, 2]);
    expect(back[20]).toBe(0);

    // Empty DISCONNECT: temporary, the cookie still works and the address is kept.
    await c.send(PacketType.DISCONNECT);
    await c.waitClosed();
    expect(last('disconnect')).toMatchObject({ logout: false });
    const again = (await cstpConnect(gw.port, machineTls, cookie)) as CstpClient;
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get('x-cstp-address')).toEqual(['10.232.200.2']);
    await again.send(PacketType.DISCONNECT, Buffer.concat([Buffer.from([0xb0]), Buffer.from('Client logout')]));
    await again.waitClosed();
    expect(last('disconnect')).toMatchObject({ logout: true, reason: 'Client logout' });
    const after = await cstpConnect(gw.port, machineTls, cookie);
    expect((after as { status: number }).status).toBe(401);
    expect((after as { head: string }).head).toMatch(/^HTTP\/1\.1 401 Cookie is not acceptable/);
  });

  it('refuses CONNECT without a cookie (503) and with an unknown one (401)', async () => {
    expect(((await cstpConnect(gw.port, machineTls, null)) as { status: number }).status).toBe(503);
    expect(((await cstpConnect(gw.port, machineTls, 'bogus')) as { status: number }).status).toBe(401);
  });

  const failures: Array<[string, (ch: Buffer) => ReturnType<typeof reply>, RegExp]> = [];
  it.each([
    [
      'signature made with a different key',
      (ch: Buffer) => reply(ch, { signKey: lab.machine.keyPem }),
      /^signature does not verify/,
    ],
    [
      'signature over the challenge plus one byte',
      (ch: Buffer) => reply(ch, { signed: Buffer.concat([ch, Buffer.from('\n')]) }),
      /^signature does not verify/,
    ],
    [
      'hash that was not offered',
      (ch: Buffer) => reply(ch, { hash: 'sha1' }),
      /hash-algorithm-chosen "sha1" was not offered/,
    ],
    [
      'foreign aggauth-handle',
      (ch: Buffer) => reply(ch, { opaque: opaqueOf(ch).replace(/<aggauth-handle>\d+/, '<aggauth-handle>12345') }),
      /unknown or already used aggauth-handle/,
    ],
    [
      'a different machine certificate on the reply',
      (ch: Buffer) =>
        reply(ch, { tls: { ca: lab.root.certPem, cert: otherMachine.certPem, key: otherMachine.keyPem } }),
      /machine certificate differs/,
    ],
    ['a revoked user certificate', (ch: Buffer) => reply(ch, { user: revoked }), /revoked-user.*is revoked/],
    [
      'a bundle with a duplicate CA',
      (ch: Buffer) => reply(ch, { bundle: bundleFor(lab.user, [lab.intermediate, lab.intermediate]) }),
      /duplicate CA certificate/,
    ],
    [
      'a bundle with an unrelated extra certificate',
      (ch: Buffer) => reply(ch, { bundle: bundleFor(lab.user, [lab.intermediate, lab.root, otherMachine]) }),
      /2 end-entity certificates/,
    ],
  ])('refuses %s', async (_name, run, reason) => {
    const ch = await challenge();
    const r = await run(ch);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('<error id="13" param1="" param2="">Certificate Validation Failure</error>');
    expect(r.body.toString()).not.toContain('complete');
    expect(last('auth-failed')?.['reason']).toMatch(reason);
  });
  void failures;

  it('a challenge is single use: replaying a successful reply fails', async () => {
    const ch = await challenge();
    expect((await reply(ch)).body.toString()).toContain('type="complete"');
    expect((await reply(ch)).body.toString()).toContain('Certificate Validation Failure');
    expect(last('auth-failed')?.['reason']).toBe('unknown or already used aggauth-handle');
  });

  it('a bundle including the root, unsorted, is accepted', async () => {
    const ch = await challenge();
    const bundle = certsOnly(
      [lab.root, lab.user, lab.intermediate].map((c) => Buffer.from(c.cert.rawData)),
      false,
    );
    expect((await reply(ch, { bundle })).body.toString()).toContain('type="complete"');
  });

  it('asks for a certificate when none was presented, refuses after client-cert-fail', async () => {
    const noCert: ClientTls = { ca: lab.root.certPem };
    const first = await postXml(gw.port, noCert, initXml());
    expect(first.body.toString()).toContain('<client-cert-request>');
    const second = await postXml(gw.port, noCert, initXml(undefined, '<client-cert-fail/>'));
    expect(second.body.toString()).toContain('Certificate Validation Failure');
    expect(last('auth-failed')?.['reason']).toBe('no machine certificate presented at TLS');
  });

  it.each([
    ['huge headers', Buffer.from(`POST / HTTP/1.1\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`), 431],
    [
      'a DOCTYPE body',
      (() => {
        const b = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><config-auth client="vpn" type="init"/>';
        return Buffer.from(`POST / HTTP/1.1\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
      })(),
      400,
    ],
    ['garbage', Buffer.from('\x16\x03\x01garbage\r\n\r\n'), 400],
    ['an oversized body', Buffer.from(`POST / HTTP/1.1\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`), 413],
    ['chunked encoding', Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 501],
    ['malformed XML', Buffer.from('POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n<config-auth'), 400],
  ])('answers %s with an error status and stays up', async (_name, request, status) => {
    const r = await rawExchange(gw.port, machineTls, request);
    expect(r.status).toBe(status);
    expect((await postXml(gw.port, machineTls, initXml())).status).toBe(200);
  });
});
