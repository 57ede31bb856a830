/**
 * The pieces of HTTP keep-alive on their own (the flows are in keepalive.test.ts):
 * ConnectionCache hands a connection back only for the same endpoint and closes it otherwise,
 * keeps at most one, keeps none when disabled or closed, unrefs an idle socket and absorbs its
 * errors; keepsAlive() trusts only HTTP/1.1 without a close token and with nothing after the
 * body; closedBeforeResponse() is true only for exchange()'s "closed before any response byte";
 * ipLiteralVersion() agrees with net.isIP, zone ids included.
 */
import { once } from 'node:events';
import { isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TlsClient } from '@tandem/dtls';
import {
  addressFor,
  closedBeforeResponse,
  ConnectionCache,
  exchange,
  ipLiteralVersion,
  keepsAlive,
  parseHead,
  type GatewayConnection,
  type HttpResponse,
} from '../src/index.js';
import { ErrorCodes, TandemError } from '@tandem/common';
import { fakeGateways, type FakeGateway } from '@tandem/testkit';

const { gw } = fakeGateways('tac-keepalive-units');

describe('ConnectionCache', () => {
  const EP = { host: 'vpn.lab.test', port: 443, address: '127.0.0.1' };
  const SERVER = { sha256: '', sha1: '', pin: '', subject: '', issuer: '', validTo: '' };
  let g: FakeGateway;

  beforeAll(async () => {
    g = await gw(() => {});
  });

  /**
   * A bare TLS connection: no error listener of its own, so only the cache's sink can catch one.
   * Also returns the gateway's side, which TLS 1.3 may register after the client's secureConnect.
   */
  async function conn(): Promise<GatewayConnection & { peer: TLSSocket }> {
    const n = g.sockets.length;
    const socket = tlsConnect({ host: '127.0.0.1', port: g.port, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    while (g.sockets.length === n) await new Promise((r) => setTimeout(r, 5));
    return { socket: socket as unknown as TlsClient, server: SERVER, peer: g.sockets[n]! };
  }

  it('take() hands the idle connection back once, for the same endpoint (host name case aside)', async () => {
    const c = await conn();
    const cache = new ConnectionCache();
    cache.put(EP, c);
    expect(cache.take({ ...EP, host: 'VPN.Lab.Test' })).toBe(c);
    expect(cache.take(EP)).toBeNull();
    expect(c.socket.destroyed).toBe(false);
    c.socket.destroy();
  });

  it.each([
    ['another port', { ...EP, port: 8443 }],
    ['another host', { ...EP, host: 'vpn2.lab.test' }],
    ['no --resolve address', { host: EP.host, port: EP.port }],
  ])('take() for %s returns null and closes the idle connection', async (_name, other) => {
    const c = await conn();
    const cache = new ConnectionCache();
    cache.put(EP, c);
    expect(cache.take(other)).toBeNull();
    expect(c.socket.destroyed).toBe(true);
    expect(cache.take(EP)).toBeNull();
  });

  it('one idle connection at most: put() closes the one it replaces', async () => {
    const [a, b] = [await conn(), await conn()];
    const cache = new ConnectionCache();
    cache.put(EP, a);
    cache.put(EP, b);
    expect(a.socket.destroyed).toBe(true);
    expect(cache.take(EP)).toBe(b);
    b.socket.destroy();
  });

  it('a disabled cache closes what is put and gives nothing back', async () => {
    const c = await conn();
    const cache = new ConnectionCache(false);
    cache.put(EP, c);
    expect(c.socket.destroyed).toBe(true);
    expect(cache.take(EP)).toBeNull();
  });

  it('close() closes the idle connection, and whatever is put afterwards', async () => {
    const [a, b] = [await conn(), await conn()];
    const cache = new ConnectionCache();
    cache.put(EP, a);
    cache.close();
    expect(a.socket.destroyed).toBe(true);
    cache.put(EP, b);
    expect(b.socket.destroyed).toBe(true);
    expect(cache.take(EP)).toBeNull();
  });

  it('a connection the gateway closed while idle is not handed out', async () => {
    const c = await conn();
    // As after exchange(), which left the socket reading.
    c.socket.resume();
    const cache = new ConnectionCache();
    cache.put(EP, c);
    c.peer.end();
    await once(c.socket, 'end');
    expect(cache.take(EP)).toBeNull();
    expect(c.socket.destroyed).toBe(true);
  });

  it('while idle the socket does not hold the event loop open; take() makes it count again', async () => {
    const c = await conn();
    const cache = new ConnectionCache();
    const held = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = held();
    cache.put(EP, c);
    expect(held()).toBe(before - 1);
    cache.take(EP);
    expect(held()).toBe(before);
    c.socket.destroy();
  });

  it("an 'error' on an idle socket is absorbed; once taken, errors reach the new owner again", async () => {
    const c = await conn();
    const cache = new ConnectionCache();
    cache.put(EP, c);
    expect(() => c.socket.emit('error', new Error('reset while idle'))).not.toThrow();
    cache.take(EP);
    expect(() => c.socket.emit('error', new Error('reset in use'))).toThrow('reset in use');
    c.socket.destroy();
  });
});

describe('keepsAlive', () => {
  const res = (
    httpVersion: '1.0' | '1.1' | undefined,
    headers: Array<[string, string]>,
    rest = '',
  ): Pick<HttpResponse, 'httpVersion' | 'headers' | 'rest'> => ({ httpVersion, headers, rest: Buffer.from(rest) });

  it.each<[string, boolean, ReturnType<typeof res>]>([
    ['HTTP/1.1 without a Connection header', true, res('1.1', [])],
    ['HTTP/1.1 with Connection: keep-alive', true, res('1.1', [['connection', 'keep-alive']])],
    [
      'HTTP/1.0 even with Connection: keep-alive and Keep-Alive',
      false,
      res('1.0', [
        ['connection', 'keep-alive'],
        ['keep-alive', 'timeout=5'],
      ]),
    ],
    ['Connection: keep-alive, close', false, res('1.1', [['connection', 'keep-alive, close']])],
    [
      'a close token in a second Connection header',
      false,
      res('1.1', [
        ['connection', 'keep-alive'],
        ['connection', 'Close'],
      ]),
    ],
    ['bytes after the body', false, res('1.1', [], 'HTTP/1.1')],
    ['a hand-built response without a version', false, res(undefined, [])],
  ])('%s → %s', (_name, expected, r) => {
    expect(keepsAlive(r)).toBe(expected);
  });

  it('works on what parseHead makes of a real head (header names and case)', () => {
    const parsed = (head: string) => ({ ...parseHead(Buffer.from(head, 'latin1')), rest: Buffer.alloc(0) });
    expect(keepsAlive(parsed('HTTP/1.1 200 OK\r\nCONNECTION: CLOSE'))).toBe(false);
    expect(keepsAlive(parsed('HTTP/1.1 200 OK\r\nContent-Length: 0'))).toBe(true);
    expect(keepsAlive(parsed('HTTP/1.0 200 OK\r\nConnection: Keep-Alive'))).toBe(false);
  });
});

describe('closedBeforeResponse', () => {
  let g: FakeGateway;
  beforeAll(async () => {
    g = await gw((req, s) => {
      if (req.path === '/close') s.destroy();
      else if (req.path === '/partial') s.end('HTTP/1.1 200 OK\r\n');
      // '/mute': no answer at all
    });
  });

  async function failure(path: string, deadlineMs = 3000): Promise<unknown> {
    const socket = tlsConnect({ host: '127.0.0.1', port: g.port, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    try {
      await exchange(
        socket as unknown as TlsClient,
        { method: 'POST', path, headers: [], body: Buffer.from('x') },
        deadlineMs,
      );
      return null;
    } catch (err) {
      return err;
    } finally {
      socket.destroy();
    }
  }

  it('true only when exchange() saw the connection close before a single response byte', async () => {
    expect(closedBeforeResponse(await failure('/close'))).toBe(true);
    const partial = await failure('/partial');
    expect(partial).toMatchObject({ code: 'E_PROTOCOL' });
    expect(closedBeforeResponse(partial)).toBe(false);
    const timeout = await failure('/mute', 200);
    expect(timeout).toMatchObject({ code: 'E_GATEWAY_TIMEOUT' });
    expect(closedBeforeResponse(timeout)).toBe(false);
  });

  it('needs the protocol error code and the flag', () => {
    expect(closedBeforeResponse(new TandemError(ErrorCodes.PROTOCOL, 'x', { details: { beforeResponse: true } }))).toBe(
      true,
    );
    expect(
      closedBeforeResponse(new TandemError(ErrorCodes.PROTOCOL, 'x', { details: { beforeResponse: false } })),
    ).toBe(false);
    expect(
      closedBeforeResponse(new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, 'x', { details: { beforeResponse: true } })),
    ).toBe(false);
    expect(
      closedBeforeResponse(Object.assign(new Error('x'), { code: 'E_PROTOCOL', details: { beforeResponse: true } })),
    ).toBe(false);
  });
});

describe('ipLiteralVersion', () => {
  it.each<[string, 0 | 4 | 6]>([
    ['10.0.0.1', 4],
    ['::1', 6],
    ['fe80::1%eth0', 6],
    ['2001:db8::1', 6],
    ['::ffff:192.0.2.1', 6],
    ['vpn.example.com', 0],
    ['1.2.3', 0],
    ['1.2.3.4.5', 0],
    ['[::1]', 0],
    ['vpn:443', 0],
    ['', 0],
  ])('%s → %d, as net.isIP says', (host, version) => {
    expect(ipLiteralVersion(host)).toBe(version);
    expect(isIP(host)).toBe(version);
  });
});

describe('addressFor', () => {
  const opts = { url: 'https://VPN.lab.test/group', address: '192.0.2.10' };
  it('gives the --resolve address to the configured host only (any case), never to a redirect target', () => {
    expect(addressFor({ host: 'vpn.lab.test' }, opts)).toBe('192.0.2.10');
    expect(addressFor({ host: 'vpn2.lab.test' }, opts)).toBeUndefined();
    expect(addressFor({ host: 'vpn.lab.test' }, { url: opts.url })).toBeUndefined();
  });
});
