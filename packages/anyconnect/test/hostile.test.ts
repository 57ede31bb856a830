/**
 * Hostile gateways (in-process TLS servers): oversized or endless bodies, header floods,
 * line breaks in headers, DOCTYPE/entity bombs, slow drip, malformed XML, redirect loops and
 * foreign redirects, a `complete` that skips an MCA challenge, out-of-range tunnel settings,
 * route floods and garbage frames after CONNECT. Each must end in a typed TandemError within
 * a bounded time — never a crash, a hang or unbounded memory.
 */
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, connectCstp, CstpSession, describeGatewayUrl, type CstpClosed } from '../src/index.js';
import { pemSigningIdentity, type SigningIdentity } from '@tandem/certs';
import { isTandemError, type ErrorCode } from '@tandem/common';
import {
  EKU,
  issue,
  KU,
  standardLab,
  type Lab,
  httpResponse,
  startFakeGateway,
  type FakeGateway,
  type Script,
} from '@tandem/testkit';

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const GOOD_CONNECT = [
  'X-CSTP-Version: 1',
  'X-CSTP-Address: 192.168.77.10',
  'X-CSTP-Netmask: 255.255.255.0',
  'X-CSTP-MTU: 1400',
  'X-CSTP-DPD: 30',
  'X-CSTP-Keepalive: 20',
];

describe('hostile gateways', () => {
  let lab: Lab;
  let certPem: string;
  let keyPem: string;
  const gateways: FakeGateway[] = [];

  beforeAll(async () => {
    lab = await standardLab('tac-hostile');
    const leaf = await issue(
      {
        subject: 'CN=vpn.lab.test',
        keyUsage: KU.digitalSignature | KU.keyEncipherment,
        eku: [EKU.serverAuth],
        san: [
          { type: 'dns', value: 'vpn.lab.test' },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ],
      },
      lab.intermediate,
    );
    certPem = leaf.certPem + lab.intermediate.certPem;
    keyPem = leaf.keyPem;
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  async function gw(script: Script): Promise<FakeGateway> {
    const g = await startFakeGateway(certPem, keyPem, script);
    gateways.push(g);
    return g;
  }

  function userSigner(): SigningIdentity {
    return pemSigningIdentity(lab.user.certPem, lab.user.keyPem);
  }

  /** Runs authenticate and returns the typed error code and the elapsed time. */
  async function authFails(
    g: FakeGateway,
    extra: Partial<Parameters<typeof authenticate>[0]> = {},
    url = `https://vpn.lab.test:${g.port}/`,
  ): Promise<{ code: ErrorCode; message: string; ms: number }> {
    const t0 = Date.now();
    try {
      await authenticate({
        url,
        address: '127.0.0.1',
        ca: lab.root.certPem,
        trust: {},
        machine: null,
        requestTimeoutMs: 3000,
        ...extra,
      });
    } catch (err) {
      if (!isTandemError(err)) throw err;
      return { code: err.code, message: err.message, ms: Date.now() - t0 };
    }
    throw new Error('authentication unexpectedly succeeded');
  }

  const xml =
    (body: string): Script =>
    (_r, s) => {
      s.end(httpResponse('200 OK', ['Content-Type: text/xml'], XML_HEAD + body));
    };

  it('huge Content-Length is refused before reading the body', async () => {
    const g = await gw((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n<config-auth');
    });
    const r = await authFails(g);
    expect(r).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/Content-Length|larger than/) });
    expect(r.ms).toBeLessThan(2000);
  });

  it('a body without length that never ends is capped at 256 KiB', async () => {
    const g = await gw((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n');
      const t = setInterval(() => {
        if (s.destroyed) clearInterval(t);
        else s.write(Buffer.alloc(64 * 1024, 0x41));
      }, 1);
    });
    const r = await authFails(g);
    expect(r).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/larger than 262144/) });
  });

  it('endless chunked encoding is capped', async () => {
    const g = await gw((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      const t = setInterval(() => {
        if (s.destroyed) clearInterval(t);
        else s.write(`8000\r\n${'B'.repeat(0x8000)}\r\n`);
      }, 1);
    });
    expect(await authFails(g)).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/larger than/) });
  });

  it('header flood: too many headers, and an endless header block', async () => {
    const many = await gw((_r, s) => {
      s.end(
        `HTTP/1.1 200 OK\r\n${Array.from({ length: 150 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    expect(await authFails(many)).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/more than 100 headers/),
    });
    const endless = await gw((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      const t = setInterval(() => {
        if (s.destroyed) clearInterval(t);
        else s.write(`X-Pad: ${'p'.repeat(1000)}\r\n`);
      }, 1);
    });
    expect(await authFails(endless)).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/head larger than 16384/),
    });
  });

  it('CR, LF or NUL inside a header value is an error', async () => {
    for (const bad of ['X-A: b\rc', 'X-A: b\nc: d', 'X-A: b\0c']) {
      const g = await gw((_r, s) => {
        s.end(`HTTP/1.1 200 OK\r\n${bad}\r\nContent-Length: 0\r\n\r\n`);
      });
      expect((await authFails(g)).code).toBe('E_PROTOCOL');
    }
  });

  it('DOCTYPE, billion laughs and external entities are refused before tokenizing, with their position', async () => {
    const laughs =
      '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><config-auth client="vpn" type="complete"><auth id="success"><title>&lol2;</title></auth></config-auth>';
    const xxe =
      '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><config-auth client="vpn" type="complete"><auth id="success"><banner>&x;</banner></auth></config-auth>';
    for (const doc of [laughs, xxe]) {
      const r = await authFails(await gw(xml(doc)));
      expect(r).toMatchObject({
        code: 'E_XML_INVALID',
        message: expect.stringMatching(/^gateway response:2:1: <!DOCTYPE is not allowed/),
      });
    }
  });

  it('deeply nested and malformed XML is a typed error', async () => {
    const deep = `<config-auth client="vpn" type="auth-request">${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</config-auth>`;
    expect(await authFails(await gw(xml(deep)))).toMatchObject({
      code: 'E_XML_INVALID',
      message: expect.stringMatching(/^gateway response:2:\d+: elements nested deeper than 32 levels$/),
    });
    expect(
      await authFails(await gw(xml('<config-auth client="vpn" type="complete"><auth id="success"></config-auth>'))),
    ).toMatchObject({
      code: 'E_XML_INVALID',
      message: expect.stringMatching(/end tag <\/config-auth> does not match <auth>/),
    });
    expect((await authFails(await gw(xml('<html><body>not a VPN</body></html>')))).code).toBe('E_PROTOCOL');
  });

  it('slow drip (1 byte per second) hits the request deadline', async () => {
    const g = await gw((_r, s) => {
      const text = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789';
      let i = 0;
      const t = setInterval(() => {
        if (s.destroyed || i >= text.length) clearInterval(t);
        else s.write(text[i++]!);
      }, 1000);
    });
    const r = await authFails(g, { requestTimeoutMs: 1500 });
    expect(r.code).toBe('E_GATEWAY_TIMEOUT');
    expect(r.ms).toBeLessThan(3000);
  });

  it('redirect loop between allowed hosts stops after the hop cap', async () => {
    const g = await gw((req, s) => {
      const next = req.headers['host']!.startsWith('localhost') ? '127.0.0.1' : 'localhost';
      s.end(httpResponse('302 Found', [`Location: https://${next}:${g.port}/`]));
    });
    const r = await authFails(g, { allowedHosts: ['localhost'], address: undefined }, `https://127.0.0.1:${g.port}/`);
    expect(r).toMatchObject({ code: 'E_AUTH_REJECTED', message: expect.stringMatching(/too many redirects/) });
    expect(g.requests.length).toBe(4);
  });

  it('a followed redirect starts with an empty cookie jar (cookies stay with their host)', async () => {
    const g = await gw((req, s) => {
      if (req.headers['host']!.startsWith('127.0.0.1'))
        s.end(
          httpResponse('302 Found', ['Set-Cookie: webvpncontext=FIRST-HOST', `Location: https://localhost:${g.port}/`]),
        );
      else
        s.end(
          httpResponse(
            '200 OK',
            ['Content-Type: text/xml', 'Set-Cookie: webvpn=SECOND'],
            `${XML_HEAD}<config-auth client="vpn" type="complete"><auth id="success"/></config-auth>`,
          ),
        );
    });
    const r = await authenticate({
      url: `https://127.0.0.1:${g.port}/`,
      ca: lab.root.certPem,
      trust: {},
      machine: null,
      allowedHosts: ['localhost'],
    });
    expect(r.cookie).toBe('SECOND');
    expect(r.gateway.host).toBe('localhost');
    expect(g.requests[1]!.headers['cookie']).toBeUndefined();
    expect(g.requests[1]!.body.toString()).toContain(`<group-access>https://localhost:${g.port}/</group-access>`);
  });

  it('redirects to a foreign host or to the same host are refused without following', async () => {
    const foreign = await gw((_r, s) => {
      s.end(httpResponse('302 Found', ['Location: https://evil.example/']));
    });
    expect(await authFails(foreign)).toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/evil\.example, which is not in the server list/),
    });
    const same = await gw((_r, s) => {
      s.end(httpResponse('301 Moved', [`Location: /other`]));
    });
    expect(await authFails(same)).toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/own host/),
    });
  });

  it('a complete carrying an unanswered MCA challenge is refused (with or without a user certificate)', async () => {
    const doc =
      '<config-auth client="vpn" type="complete" aggregate-auth-version="2"><session-token>tok-123</session-token><auth id="success"></auth><multiple-client-cert-request><hash-algorithm>sha256</hash-algorithm></multiple-client-cert-request></config-auth>';
    for (const user of [userSigner(), null]) {
      const r = await authFails(await gw(xml(doc)), { user });
      expect(r).toMatchObject({ code: 'E_AUTH_REJECTED', message: expect.stringMatching(/without the MCA step/) });
    }
  });

  it('an MCA challenge with only unsupported hashes fails clearly', async () => {
    const doc =
      '<config-auth client="vpn" type="auth-request" aggregate-auth-version="2"><opaque is-for="sg"><x>1</x></opaque><multiple-client-cert-request><hash-algorithm>sha1</hash-algorithm><hash-algorithm>md5</hash-algorithm></multiple-client-cert-request><random>abc</random></config-auth>';
    const r = await authFails(await gw(xml(doc)), { user: userSigner() });
    expect(r).toMatchObject({ code: 'E_AUTH_UNSUPPORTED', message: expect.stringMatching(/offered: sha1, md5/) });
  });

  it('gateway errors surface as E_AUTH_REJECTED with the reason; 401 No certificate is explained', async () => {
    const refused = await gw(
      xml(
        '<config-auth client="vpn" type="auth-request"><auth id="main"><error id="13" param1="" param2="">Certificate Validation Failure</error></auth></config-auth>',
      ),
    );
    expect(await authFails(refused)).toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/Certificate Validation Failure/),
    });
    const nocert = await gw((_r, s) => {
      s.end(httpResponse('401 No certificate', []));
    });
    expect(await authFails(nocert)).toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/requires a client certificate \(HTTP 401 No certificate\)/),
    });
  });

  it('a gateway that keeps asking runs out of rounds', async () => {
    const form =
      '<config-auth client="vpn" type="auth-request"><auth id="main"><form method="post" action="/auth"><input type="password" name="password" label="Password:"/></form></auth></config-auth>';
    const r = await authFails(await gw(xml(form)), { prompt: async () => [['password', 'x']] });
    expect(r).toMatchObject({ code: 'E_AUTH_REJECTED', message: expect.stringMatching(/10 rounds/) });
    // The machine tunnel has no prompt: any form is a failure.
    expect((await authFails(await gw(xml(form)))).code).toBe('E_AUTH_UNSUPPORTED');
  });

  async function connectTo(
    headers: string[],
    after?: (s: TLSSocket) => void,
  ): Promise<{ code?: ErrorCode; message?: string; closed?: CstpClosed; ms: number }> {
    const g = await gw((_r, s) => {
      s.write(`HTTP/1.1 200 CONNECTED\r\n${headers.join('\r\n')}\r\n\r\n`);
      after?.(s);
    });
    const t0 = Date.now();
    try {
      const ch = await connectCstp({
        gateway: describeGatewayUrl(`https://vpn.lab.test:${g.port}/`),
        cookie: 'c00kie',
        address: '127.0.0.1',
        ca: lab.root.certPem,
        trust: {},
        machine: null,
        timeoutMs: 3000,
      });
      const session = new CstpSession(ch);
      const closed = await new Promise<CstpClosed>((resolve) => {
        session.onClose(resolve);
        setTimeout(() => session.close('test end'), 2000);
      });
      return { closed, ms: Date.now() - t0 };
    } catch (err) {
      if (!isTandemError(err)) throw err;
      return { code: err.code, message: err.message, ms: Date.now() - t0 };
    }
  }

  it('out-of-range X-CSTP-MTU and DPD, a missing MTU, bad addresses are refused (never clamped)', async () => {
    const base = GOOD_CONNECT.filter((h) => !/^X-CSTP-(MTU|DPD)/.test(h));
    expect(await connectTo([...base, 'X-CSTP-MTU: 70000'])).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/X-CSTP-MTU 70000 is outside 576\.\.9000/),
    });
    expect(await connectTo([...base, 'X-CSTP-MTU: 100'])).toMatchObject({ code: 'E_PROTOCOL' });
    expect(await connectTo([...base, 'X-CSTP-MTU: 1400', 'X-CSTP-DPD: 99999'])).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/X-CSTP-DPD/),
    });
    expect(await connectTo(base)).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringMatching(/no MTU/) });
    expect(await connectTo([...GOOD_CONNECT, 'X-CSTP-Split-Include: 10.0.0.0/255.0.255.0'])).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/not contiguous/),
    });
    expect(await connectTo([...GOOD_CONNECT, 'X-CSTP-Default-Domain: corp"evil'])).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/not a DNS name/),
    });
  });

  it('route floods: 10,000 split-include routes and 1001 routes are typed errors', async () => {
    const routes = (n: number) =>
      Array.from({ length: n }, (_, i) => `X-CSTP-Split-Include: 10.${(i >> 8) & 255}.${i & 255}.0/255.255.255.0`);
    const flood = await connectTo([...GOOD_CONNECT, ...routes(10_000)]);
    expect(flood.code).toBe('E_PROTOCOL');
    expect(flood.ms).toBeLessThan(3000);
    expect(await connectTo([...GOOD_CONNECT, ...routes(1001)])).toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/more than 1000 split-include/),
    });
    const ok = await connectTo([...GOOD_CONNECT, ...routes(1000)]);
    expect(ok.closed?.kind).toBe('local');
  });

  it('CONNECT refusals: 401 → E_COOKIE_REJECTED, 503 with X-Reason', async () => {
    const g401 = await gw((_r, s) => {
      s.end('HTTP/1.1 401 Cookie is not acceptable\r\nContent-Length: 0\r\n\r\n');
    });
    const g503 = await gw((_r, s) => {
      s.end('HTTP/1.1 503 Service Unavailable\r\nX-Reason: Server configuration error\r\nContent-Length: 0\r\n\r\n');
    });
    for (const [g, code, msg] of [
      [g401, 'E_COOKIE_REJECTED', /authenticate again/],
      [g503, 'E_AUTH_REJECTED', /Server configuration error/],
    ] as const) {
      await expect(
        connectCstp({
          gateway: describeGatewayUrl(`https://vpn.lab.test:${g.port}/`),
          cookie: 'c',
          address: '127.0.0.1',
          ca: lab.root.certPem,
          trust: {},
          machine: null,
        }),
      ).rejects.toMatchObject({ code, message: expect.stringMatching(msg) });
    }
  });

  it('garbage, unknown types and oversized frames after CONNECT end the session as a protocol error', async () => {
    const frames = [
      Buffer.from('GARBAGE!'),
      Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x00, 0x02, 0x00]),
      Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x00, 0x00, 0x01]),
      Buffer.from([0x53, 0x54, 0x46, 0x01, 0xff, 0xff, 0x00, 0x00]),
    ];
    for (const f of frames) {
      const r = await connectTo(GOOD_CONNECT, (s) => setTimeout(() => s.write(f), 20));
      expect(r.closed?.kind).toBe('protocol');
      expect(r.ms).toBeLessThan(1500);
    }
  });

  it('frames sent right after 200 CONNECTED wait for the session (none lost while the owner is busy)', async () => {
    const g = await gw((_r, s) => {
      s.write(`HTTP/1.1 200 CONNECTED\r\n${GOOD_CONNECT.join('\r\n')}\r\n\r\n`);
      setTimeout(
        () => s.write(Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x04, 0x00, 0x00, 0x45, 0x00, 0x00, 0x04])),
        20,
      );
      setTimeout(() => s.write(Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x00, 0x03, 0x00])), 40);
    });
    const ch = await connectCstp({
      gateway: describeGatewayUrl(`https://vpn.lab.test:${g.port}/`),
      cookie: 'c00kie',
      address: '127.0.0.1',
      ca: lab.root.certPem,
      trust: {},
      machine: null,
    });
    // The owner configures the TUN device, routes and DNS before it starts the session.
    await new Promise((r) => setTimeout(r, 300));
    const session = new CstpSession(ch);
    const packets: Buffer[] = [];
    session.onPacket((p) => packets.push(Buffer.from(p)));
    await new Promise((r) => setTimeout(r, 100));
    expect(packets).toEqual([Buffer.from([0x45, 0x00, 0x00, 0x04])]);
    expect(session.stats.dpdAnswered).toBe(1);
    session.close();
  });

  it('server DISCONNECT with a reason is final and reported', async () => {
    const r = await connectTo(GOOD_CONNECT, (s) =>
      setTimeout(
        () =>
          s.write(
            Buffer.concat([Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x05, 0x05, 0x00, 0x01]), Buffer.from('idle')]),
          ),
        20,
      ),
    );
    expect(r.closed).toEqual({ kind: 'server', reason: 'gateway disconnected the session: idle' });
  });
});
