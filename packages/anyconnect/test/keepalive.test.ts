/**
 * HTTP keep-alive from the first auth request to CONNECT, against scripted gateways that keep
 * connections open: a group-selection auth and an MCA auth followed by CONNECT cost one TLS
 * connection when authenticate and openTunnel share a ConnectionCache; `Connection: close`,
 * HTTP/1.0 or bytes after the body end re-use; a gateway that drops the idle connection costs
 * a new connection, not an error (the request is re-sent once, and only when no response byte
 * came back); a CONNECT that fails on the re-used connection is retried once on a new one; the
 * client-cert-request retry still opens a new connection; `new ConnectionCache(false)` means
 * one connection per request. The pieces on their own are in keepalive-units.test.ts.
 */
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authenticate,
  ConnectionCache,
  openTunnel,
  type AuthResult,
  type FormPrompt,
  type OpenTunnel,
} from '../src/index.js';
import { pemSigningIdentity } from '@tandem/certs';
import { COMPLETE_XML, fakeGateways, httpResponse, type FakeGateway, type SeenRequest } from '@tandem/testkit';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const GROUPS =
  '<config-auth client="vpn" type="auth-request"><auth id="main"><form method="post" action="/auth"><select name="group_list"><option>users</option><option>machines</option></select></form></auth></config-auth>';
const PASSWORD_FORM =
  '<config-auth client="vpn" type="auth-request"><auth id="main"><form method="post" action="/auth"><input type="password" name="password" label="Password:"/></form></auth></config-auth>';
const CERT_REQUEST =
  '<config-auth client="vpn" type="auth-request"><client-cert-request/><auth id="main"><title>x</title></auth></config-auth>';
const CONNECTED =
  'HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\nX-CSTP-Address: 192.168.77.10\r\nX-CSTP-Netmask: 255.255.255.0\r\nX-CSTP-MTU: 1400\r\nX-CSTP-DPD: 30\r\nX-CSTP-Keepalive: 20\r\n\r\n';

const xml = (body: string, headers: string[] = []): Buffer =>
  httpResponse('200 OK', ['Content-Type: text/xml', ...headers], HEAD + body);
const complete = (): Buffer =>
  httpResponse('200 OK', ['Content-Type: text/xml', 'Set-Cookie: webvpn=KA-COOKIE; Secure'], COMPLETE_XML);

/** A cooperative ocserv-like gateway: group list, then success once a group is chosen, then the tunnel. */
function answer(req: SeenRequest): Buffer {
  if (req.method === 'CONNECT') return Buffer.from(CONNECTED);
  return req.body.toString().includes('<group-select>') ? complete() : xml(GROUPS);
}

/** "POST /auth @0": method, path and the connection each request travelled on. */
const trail = (g: FakeGateway): string[] => g.requests.map((r) => `${r.method} ${r.path} @${r.conn}`);

/** Whether the server side of a connection sees it closed (by the client) within `ms`. */
function closesWithin(s: TLSSocket, ms = 2000): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const gateways = fakeGateways('tac-keepalive');
const gw = gateways.gw;

describe('HTTP keep-alive from auth to CONNECT', () => {
  const tunnels: OpenTunnel[] = [];
  const caches: ConnectionCache[] = [];

  afterEach(() => {
    for (const t of tunnels.splice(0)) t.session.close('test end');
    for (const c of caches.splice(0)) c.close();
  });

  const cache = (enabled = true): ConnectionCache => {
    const c = new ConnectionCache(enabled);
    caches.push(c);
    return c;
  };
  const common = () => ({
    address: '127.0.0.1',
    ca: gateways.lab().root.certPem,
    trust: {},
    machine: { cert: gateways.lab().machine.certPem, key: gateways.lab().machine.keyPem },
  });
  const auth = (g: FakeGateway, extra: Partial<Parameters<typeof authenticate>[0]> = {}): Promise<AuthResult> =>
    authenticate({ ...common(), url: `https://vpn.lab.test:${g.port}/machines`, requestTimeoutMs: 3000, ...extra });
  async function tunnel(a: AuthResult, connections?: ConnectionCache): Promise<OpenTunnel> {
    const t = await openTunnel(a, { ...common(), timeoutMs: 3000, connections });
    tunnels.push(t);
    return t;
  }

  it('group selection + CONNECT with a shared cache: one TLS connection carries all three requests', async () => {
    const g = await gw((req, s) => {
      s.write(answer(req));
    });
    const connections = cache();
    const a = await auth(g, { connections });
    expect(a.cookie).toBe('KA-COOKIE');
    const t = await tunnel(a, connections);
    expect(t.channel.config.ipv4?.address).toBe('192.168.77.10');
    expect(g.connections).toBe(1);
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @0', 'CONNECT /CSCOSSLC/tunnel @0']);
    expect(g.requests[2]!.headers['cookie']).toBe('webvpn=KA-COOKIE');
  });

  it('MCA on one connection: the handshake presented the machine certificate, the signed answer follows on it', async () => {
    const challenge = `<config-auth client="vpn" type="auth-request" aggregate-auth-version="2"><opaque is-for="sg"><aggauth-handle>7</aggauth-handle></opaque><multiple-client-cert-request><hash-algorithm>sha256</hash-algorithm></multiple-client-cert-request><random>AB</random><cert-authenticated></cert-authenticated></config-auth>`;
    const g = await gw(
      (req, s, i) => {
        s.write(req.method === 'CONNECT' ? Buffer.from(CONNECTED) : i === 0 ? xml(challenge) : complete());
      },
      { requestCert: true },
    );
    const user = pemSigningIdentity(gateways.lab().user.certPem, gateways.lab().user.keyPem);
    const connections = cache();
    const a = await auth(g, { user, connections });
    expect(a.mca).toBe(true);
    await tunnel(a, connections);
    expect(g.connections).toBe(1);
    expect(g.requests.map((r) => r.conn)).toEqual([0, 0, 0]);
    expect(g.requests[1]!.body.toString()).toContain('<auth-method>multiple-cert</auth-method>');
    expect((g.sockets[0]!.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN).toBe('machine.lab.test');
  });

  it('without a caller cache the auth rounds still share a connection, closed when authenticate returns', async () => {
    const g = await gw((req, s) => {
      s.write(answer(req));
    });
    const a = await auth(g);
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @0']);
    expect(await closesWithin(g.sockets[0]!)).toBe(true);
    // Nothing was kept for CONNECT, so it needs a connection of its own.
    await tunnel(a);
    expect(g.requests[2]!.conn).toBe(1);
    expect(g.connections).toBe(2);
  });

  // The gateway leaves every connection open, so a client that re-used one anyway would be
  // answered on it and the test would see "@0".
  it.each([
    ['Connection: close', xml(GROUPS, ['Connection: close'])],
    ['Connection: keep-alive, close', xml(GROUPS, ['Connection: keep-alive, close'])],
    [
      'HTTP/1.0 even with Keep-Alive',
      Buffer.from(
        xml(GROUPS, ['Connection: keep-alive', 'Keep-Alive: timeout=30'])
          .toString('latin1')
          .replace('HTTP/1.1', 'HTTP/1.0'),
        'latin1',
      ),
    ],
    ['bytes after the body', Buffer.concat([xml(GROUPS), Buffer.from('HTTP/1.1 200 OK\r\n')])],
  ])('%s: the next request goes on a new connection and the old one is closed', async (_name, first) => {
    const g = await gw((req, s, i) => {
      s.write(i === 0 ? first : answer(req));
    });
    const connections = cache();
    const a = await auth(g, { connections });
    await tunnel(a, connections);
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @1', 'CONNECT /CSCOSSLC/tunnel @1']);
    expect(await closesWithin(g.sockets[0]!)).toBe(true);
  });

  it('a gateway that closes after every answer (no Connection: close): each request on a new connection, no error', async () => {
    const g = await gw(
      (req, s) => {
        s.end(answer(req));
      },
      { keepAlive: false },
    );
    const connections = cache();
    const a = await auth(g, { connections });
    await tunnel(a, connections);
    expect(g.connections).toBe(3);
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @1', 'CONNECT /CSCOSSLC/tunnel @2']);
  });

  it('a gateway that drops the connection while the client is idle (waiting for a prompt): next request on a new connection', async () => {
    const g = await gw((req, s, i) => {
      s.write(i === 0 ? xml(PASSWORD_FORM) : complete());
    });
    const prompt: FormPrompt = async () => {
      // Drop it the way an idle timeout would, and give the client time to see it.
      g.sockets[0]!.destroy();
      await new Promise((r) => setTimeout(r, 200));
      return [['password', 'pw']];
    };
    const a = await auth(g, { prompt });
    expect(a.cookie).toBe('KA-COOKIE');
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @1']);
  });

  it('a re-used connection closed before any response byte: the request is re-sent, once, on a new connection', async () => {
    const g = await gw((req, s, i) => {
      if (i === 1) s.destroy();
      else s.write(answer(req));
    });
    const a = await auth(g);
    expect(a.cookie).toBe('KA-COOKIE');
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @0', 'POST /auth @1']);
    expect(g.requests[2]!.body.equals(g.requests[1]!.body)).toBe(true);

    // When the new connection fails the same way, that is the gateway's answer: no third try.
    const g2 = await gw((req, s, i) => {
      if (i >= 1) s.destroy();
      else s.write(answer(req));
    });
    await expect(auth(g2)).rejects.toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/closed the connection during POST \/auth/),
    });
    expect(trail(g2)).toEqual(['POST /machines @0', 'POST /auth @0', 'POST /auth @1']);
  });

  it('a re-used connection closed after part of a response: an error, not a re-send (the gateway did see the request)', async () => {
    const g = await gw((req, s, i) => {
      if (i === 1) s.end('HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n');
      else s.write(answer(req));
    });
    await expect(auth(g)).rejects.toMatchObject({ code: 'E_PROTOCOL' });
    expect(g.connections).toBe(1);
    expect(g.requests).toHaveLength(2);
  });

  it('new ConnectionCache(false): one connection per request, each closed after its answer', async () => {
    const g = await gw((req, s) => {
      s.write(answer(req));
    });
    const connections = cache(false);
    const a = await auth(g, { connections });
    await tunnel(a, connections);
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /auth @1', 'CONNECT /CSCOSSLC/tunnel @2']);
    expect(await closesWithin(g.sockets[0]!)).toBe(true);
    expect(await closesWithin(g.sockets[1]!)).toBe(true);
  });

  // Some ASAs forget the client certificate on a re-used connection and refuse CONNECT there.
  it.each<[string, (s: TLSSocket) => void]>([
    [
      '401',
      (s) => {
        s.write(httpResponse('401 Unauthorized', []));
      },
    ],
    [
      '503',
      (s) => {
        s.write(httpResponse('503 Service Unavailable', ['X-Reason: no certificate']));
      },
    ],
    [
      'a dropped connection',
      (s) => {
        s.destroy();
      },
    ],
    [
      'a bad tunnel configuration',
      (s) => {
        s.write('HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\n\r\n');
      },
    ],
  ])(
    'CONNECT answered with %s on the re-used connection: retried on a new one, which opens the tunnel',
    async (_name, refuse) => {
      const g = await gw((req, s) => {
        if (req.method === 'CONNECT' && req.conn === 0) refuse(s);
        else s.write(answer(req));
      });
      const connections = cache();
      const t = await tunnel(await auth(g, { connections }), connections);
      expect(t.channel.config.ipv4?.address).toBe('192.168.77.10');
      expect(g.connections).toBe(2);
      expect(trail(g).slice(2)).toEqual(['CONNECT /CSCOSSLC/tunnel @0', 'CONNECT /CSCOSSLC/tunnel @1']);
      expect(await closesWithin(g.sockets[0]!)).toBe(true);
    },
  );

  it('CONNECT refused on the re-used and on the new connection: the refusal is the answer, no third connection', async () => {
    const g = await gw((req, s) => {
      s.write(req.method === 'CONNECT' ? httpResponse('401 Unauthorized', []) : answer(req));
    });
    const connections = cache();
    const a = await auth(g, { connections });
    await expect(openTunnel(a, { ...common(), timeoutMs: 3000, connections })).rejects.toMatchObject({
      code: 'E_COOKIE_REJECTED',
    });
    expect(g.connections).toBe(2);
    expect(trail(g).slice(2)).toEqual(['CONNECT /CSCOSSLC/tunnel @0', 'CONNECT /CSCOSSLC/tunnel @1']);
  });

  it('client-cert-request on a keep-alive gateway: the retry still opens a new connection (new handshake, certificate presented)', async () => {
    const g = await gw(
      (req, s, i) => {
        s.write(i === 0 ? xml(CERT_REQUEST) : req.method === 'CONNECT' ? Buffer.from(CONNECTED) : complete());
      },
      { requestCert: true },
    );
    const connections = cache();
    const a = await auth(g, { connections });
    expect(a.cookie).toBe('KA-COOKIE');
    await tunnel(a, connections);
    // The retry's connection is the one kept for CONNECT.
    expect(trail(g)).toEqual(['POST /machines @0', 'POST /machines @1', 'CONNECT /CSCOSSLC/tunnel @1']);
    expect(g.requests[1]!.body.toString()).not.toContain('client-cert-fail');
    expect(await closesWithin(g.sockets[0]!)).toBe(true);
    expect((g.sockets[1]!.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN).toBe('machine.lab.test');
  });
});
