/**
 * The auth state machine against scripted gateways: ocserv-style group selection carried by
 * the webvpncontext cookie, a client-cert-request answered by a fresh-connection retry and then
 * <client-cert-fail/>, certificate + AAA with the user name pre-filled from the certificate,
 * Cisco session-token, MCA on a new TLS connection with the opaque echoed, and a gateway that
 * accepts TCP but never speaks TLS.
 */
import { createServer as createTcpServer, type Server } from 'node:net';
import { createPublicKey, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, parseGatewayDocument, type FormPrompt } from '../src/index.js';
import { pemSigningIdentity } from '@tandem/certs';
import {
  EKU,
  issue,
  KU,
  standardLab,
  type Lab,
  COMPLETE_XML,
  httpResponse,
  startFakeGateway,
  type FakeGateway,
  type Script,
} from '@tandem/testkit';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

describe('auth flow against scripted gateways', () => {
  let lab: Lab;
  let certPem: string;
  let keyPem: string;
  const gateways: FakeGateway[] = [];
  const base = () => ({ address: '127.0.0.1', ca: lab.root.certPem, trust: {}, requestTimeoutMs: 3000 });
  const machine = () => ({ cert: lab.machine.certPem, key: lab.machine.keyPem });

  beforeAll(async () => {
    lab = await standardLab('tac-flow');
    const leaf = await issue(
      {
        subject: 'CN=vpn.lab.test',
        keyUsage: KU.digitalSignature,
        eku: [EKU.serverAuth],
        san: [{ type: 'dns', value: 'vpn.lab.test' }],
      },
      lab.intermediate,
    );
    certPem = leaf.certPem + lab.intermediate.certPem;
    keyPem = leaf.keyPem;
  }, 60_000);

  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  async function gw(script: Script, requestCert = false): Promise<FakeGateway> {
    const g = await startFakeGateway(certPem, keyPem, script, { requestCert });
    gateways.push(g);
    return g;
  }

  const xml = (status: string, headers: string[], body: string) =>
    httpResponse(status, ['Content-Type: text/xml', ...headers], HEAD + body);

  it('ocserv group selection: select form, re-init with <group-select> and the webvpncontext cookie, complete', async () => {
    const g = await gw((req, s, i) => {
      if (i === 0) {
        s.end(
          xml(
            '200 OK',
            ['Set-Cookie: webvpncontext=ctx123; Secure; HttpOnly'],
            '<config-auth client="vpn" type="auth-request"><version who="sg">0.1(1)</version><auth id="main"><message>Please select your group.</message><form method="post" action="/auth"><select name="group_list" label="Group:"><option>users</option><option>machines</option></select></form></auth></config-auth>',
          ),
        );
      } else {
        s.end(
          xml(
            '200 OK',
            [
              'Set-Cookie: webvpncontext=; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/',
              'Set-Cookie: webvpn=COOKIE-OK; Secure',
            ],
            COMPLETE_XML.replace(HEAD, ''),
          ),
        );
      }
    });
    const r = await authenticate({ ...base(), url: `https://vpn.lab.test:${g.port}/machines`, machine: machine() });
    expect(r.cookie).toBe('COOKIE-OK');
    expect(g.connections).toBe(2);
    expect(g.requests[0]!.body.toString()).toContain(
      `<group-access>https://vpn.lab.test:${g.port}/machines</group-access>`,
    );
    expect(g.requests[1]!.path).toBe('/auth');
    expect(g.requests[1]!.headers['cookie']).toBe('webvpncontext=ctx123');
    expect(g.requests[1]!.body.toString()).toContain('<group-select>machines</group-select>');
    // Without a target group and with several offered, the user must choose.
    const g2 = await gw((_r, s) => {
      s.end(
        xml(
          '200 OK',
          [],
          '<config-auth client="vpn" type="auth-request"><auth id="main"><form action="/auth"><select name="group_list"><option>a</option><option>b</option></select></form></auth></config-auth>',
        ),
      );
    });
    await expect(
      authenticate({ ...base(), url: `https://vpn.lab.test:${g2.port}/`, machine: machine() }),
    ).rejects.toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/--authgroup \(offered: a, b\)/),
    });
  });

  it('client-cert-request: retry on a fresh connection, then <client-cert-fail/>, then a clear refusal', async () => {
    const ask =
      '<config-auth client="vpn" type="auth-request"><client-cert-request/><auth id="main"><title>x</title></auth></config-auth>';
    const g = await gw((_r, s) => {
      s.end(xml('200 OK', [], ask));
    });
    await expect(
      authenticate({ ...base(), url: `https://vpn.lab.test:${g.port}/`, machine: machine() }),
    ).rejects.toMatchObject({
      code: 'E_AUTH_REJECTED',
      message: expect.stringMatching(/did not accept the client certificate/),
    });
    expect(g.connections).toBe(3);
    expect(g.requests[1]!.body.toString()).not.toContain('client-cert-fail');
    expect(g.requests[2]!.body.toString()).toContain('<client-cert-fail/>');
  });

  it('certificate + AAA: user name pre-filled from the certificate CN, password from the prompt, opaque echoed', async () => {
    const opaque = '<opaque is-for="sg"><tunnel-group>AAA</tunnel-group><aggauth-handle>77</aggauth-handle></opaque>';
    const g = await gw((_r, s, i) => {
      if (i === 0)
        s.end(
          xml(
            '200 OK',
            [],
            `<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">${opaque}<auth id="main"><title>Login</title><form><input type="text" name="username" label="Username:"></input><input type="password" name="password" label="Password:"></input></form></auth></config-auth>`,
          ),
        );
      else
        s.end(
          xml(
            '200 OK',
            [],
            '<config-auth client="vpn" type="complete" aggregate-auth-version="2"><session-id>32768</session-id><session-token>TOKEN@1@2</session-token><auth id="success"><banner>Welcome</banner></auth></config-auth>',
          ),
        );
    });
    const seen: Array<Array<{ name: string; value: string }>> = [];
    const prompt: FormPrompt = async (form) => {
      seen.push(form.inputs.map((i) => ({ name: i.name, value: i.value })));
      return form.inputs.map((i) => [i.name, i.type === 'password' ? 's3cret-pw' : i.value]);
    };
    const r = await authenticate({ ...base(), url: `https://vpn.lab.test:${g.port}/`, machine: machine(), prompt });
    expect(seen[0]).toEqual([
      { name: 'username', value: 'machine.lab.test' },
      { name: 'password', value: '' },
    ]);
    expect(r).toMatchObject({ cookie: 'TOKEN@1@2', banner: 'Welcome', mca: false });
    const reply = g.requests[1]!.body.toString();
    expect(reply).toContain(
      `<session-token/><session-id/>${opaque}<auth><username>machine.lab.test</username><password>s3cret-pw</password></auth>`,
    );
  });

  it('MCA: challenge answered on a new TLS connection that presents the machine certificate again', async () => {
    const challenge = Buffer.from(
      `${HEAD}<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">\n<opaque is-for="sg">\n<aggauth-handle>42</aggauth-handle>\n</opaque>\n<multiple-client-cert-request>\n<hash-algorithm>sha256</hash-algorithm>\n<hash-algorithm>sha384</hash-algorithm>\n</multiple-client-cert-request>\n<random>AB</random>\n<cert-authenticated></cert-authenticated>\n</config-auth>\n`,
    );
    const peers: Array<string | undefined> = [];
    const g = await gw((_r, s, i) => {
      peers.push((s.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN);
      if (i === 0)
        s.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n${challenge.length.toString(16)}\r\n`,
            ),
            challenge,
            Buffer.from('\r\n0\r\n\r\n'),
          ]),
        );
      else s.end(xml('200 OK', ['Set-Cookie: webvpn=MCA-OK'], COMPLETE_XML.replace(HEAD, '')));
    }, true);
    const user = pemSigningIdentity(lab.user.certPem, lab.user.keyPem);
    const r = await authenticate({ ...base(), url: `https://vpn.lab.test:${g.port}/`, machine: machine(), user });
    expect(r).toMatchObject({ mca: true, cookie: 'MCA-OK' });
    expect(g.connections).toBe(2);
    const reply = g.requests[1]!.body.toString();
    expect(reply).toContain('<capabilities><auth-method>multiple-cert</auth-method></capabilities>');
    expect(reply).toContain('<opaque is-for="sg">\n<aggauth-handle>42</aggauth-handle>\n</opaque>');
    const sig = /hash-algorithm-chosen="sha384">([^<]+)</.exec(reply)![1]!;
    expect(
      verify('sha384', challenge, createPublicKey(lab.user.certPem), Buffer.from(sig.replace(/\n/g, ''), 'base64')),
    ).toBe(true);
    expect(parseGatewayDocument(challenge).mcaHashes).toEqual(['sha256', 'sha384']);
    expect(peers).toEqual(['machine.lab.test', 'machine.lab.test']);
  });

  it('a redirect to another allowed gateway is validated like any gateway (certificate host name)', async () => {
    const g = await gw((req, s) => {
      if (req.headers['host']!.startsWith('vpn.lab.test'))
        s.end(
          httpResponse('302 Found', [
            'Set-Cookie: webvpncontext=FROM-FIRST',
            `Location: https://localhost:${g.port}/grp`,
          ]),
        );
      else s.end(xml('200 OK', ['Set-Cookie: webvpn=SECOND-OK'], COMPLETE_XML.replace(HEAD, '')));
    });
    const r = await authenticate({
      ...base(),
      url: `https://vpn.lab.test:${g.port}/`,
      machine: null,
      allowedHosts: ['localhost'],
      ca: lab.root.certPem,
      trust: { pins: [] },
    }).catch((e: Error) => e);
    // localhost is not in this server certificate: the redirect target is validated like any gateway.
    expect(r).toMatchObject({
      code: 'E_SERVER_CERT_UNTRUSTED',
      message: expect.stringMatching(/host name localhost does not match/),
    });
    expect(g.requests.length).toBe(1);
  });

  it('TCP accepted but no TLS handshake: connect deadline, typed timeout', async () => {
    const tcp: Server = createTcpServer(() => {});
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    const t0 = Date.now();
    await expect(
      authenticate({ ...base(), requestTimeoutMs: 1000, url: `https://vpn.lab.test:${port}/`, machine: null }),
    ).rejects.toMatchObject({ code: 'E_GATEWAY_TIMEOUT', message: expect.stringMatching(/TLS handshake/) });
    expect(Date.now() - t0).toBeLessThan(2500);
    tcp.close();
  });
});
