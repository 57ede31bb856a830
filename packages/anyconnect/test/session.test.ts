/**
 * CSTP session and tunnel configuration units: the DPD/keepalive timers on a fake
 * socket with fake timers, the writer's "one write pending" invariant, DPD answers, logout;
 * the captured ocserv CONNECT response as a typed configuration; the manifest hash rule; and
 * that the secrets of a CONNECT never reach the redacted log text.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TlsClient } from '@tandem/dtls';
import {
  connectHeaders,
  CstpSession,
  describeGatewayUrl,
  encodeFrame,
  FrameDecoder,
  FrameWriter,
  manifestHashMatches,
  PacketType,
  parseTunnelConfig,
  previousLease,
  type CstpClosed,
  type TunnelConfig,
} from '../src/index.js';
import { normalizeAddress, redactor } from '@tandem/common';

/** A socket that checks the writer never has two writes pending and records every frame. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  pending: Array<() => void> = [];
  maxPending = 0;
  destroyed = false;
  constructor(private readonly autoComplete = true) {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  write(data: Buffer, cb: (err?: Error | null) => void): boolean {
    this.writes.push(Buffer.from(data));
    this.pending.push(() => cb(null));
    this.maxPending = Math.max(this.maxPending, this.pending.length);
    if (this.autoComplete) setImmediate(() => this.pending.shift()?.());
    return true;
  }
  complete(): void {
    this.pending.shift()?.();
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  types(): number[] {
    return this.writes.map((w) => w[6]!);
  }
}

function config(over: Partial<TunnelConfig> = {}): TunnelConfig {
  return {
    dns: [],
    nbns: [],
    defaultDomains: [],
    splitDns: [],
    splitInclude: [],
    splitExclude: [],
    tunnelAllDns: false,
    clientBypassProtocol: false,
    mtu: 1400,
    dpd: 0,
    keepalive: 0,
    idleTimeout: null,
    sessionTimeout: null,
    rekey: null,
    banner: '',
    serverName: '',
    dtls: null,
    dtlsNote: null,
    ipv4: { address: normalizeAddress('192.168.77.10')!.address, netmask: '255.255.255.0', prefix: 24 },
    ...over,
  };
}

function session(sock: FakeSocket, over: Partial<TunnelConfig> = {}): CstpSession {
  return new CstpSession({
    socket: sock as unknown as TlsClient,
    config: config(over),
    server: { sha256: '', sha1: '', pin: '', subject: '', issuer: '', validTo: '' },
    initial: Buffer.alloc(0),
    dtlsSecret: null,
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CSTP session timers (docs/protocol.md#dpd-and-keepalive)', () => {
  it('DPD-REQ after dpd of silence, again every dpd/2, dead at 2×dpd', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    const sock = new FakeSocket(false);
    const s = session(sock, { dpd: 10 });
    const dead = vi.fn();
    const closed = vi.fn();
    s.on('dead', dead);
    s.on('closed', closed);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(sock.types()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(sock.types()).toEqual([PacketType.DPD_REQ]);
    sock.complete();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(sock.types()).toEqual([PacketType.DPD_REQ]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(sock.types()).toEqual([PacketType.DPD_REQ, PacketType.DPD_REQ]);
    sock.complete();
    expect(dead).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(dead).toHaveBeenCalledOnce();
    expect(closed.mock.calls[0]![0]).toMatchObject({ kind: 'dead' });
    expect(sock.destroyed).toBe(true);
  });

  it('anything received resets DPD; keepalive only when nothing was sent for `keepalive` s', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    const sock = new FakeSocket(false);
    const s = session(sock, { dpd: 10, keepalive: 4 });
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(3_000);
      sock.emit('data', encodeFrame(PacketType.KEEPALIVE));
      s.send(Buffer.alloc(20, 0x45));
      sock.complete();
    }
    expect(sock.types().every((t) => t === PacketType.DATA)).toBe(true);
    await vi.advanceTimersByTimeAsync(4_300);
    expect(sock.types().at(-1)).toBe(PacketType.KEEPALIVE);
    expect(s.isClosed).toBe(false);
    s.close();
  });

  it('answers DPD-REQ with a DPD-RESP carrying the same payload; server DISCONNECT is final', async () => {
    const sock = new FakeSocket();
    const s = session(sock);
    const closed = new Promise<CstpClosed>((r) => s.onClose(r));
    sock.emit('data', encodeFrame(PacketType.DPD_REQ, Buffer.from('ping-42')));
    await new Promise((r) => setImmediate(r));
    expect(sock.writes[0]).toEqual(encodeFrame(PacketType.DPD_RESP, Buffer.from('ping-42')));
    sock.emit('data', encodeFrame(PacketType.TERMINATE));
    expect(await closed).toEqual({ kind: 'server', reason: 'gateway terminated the session' });
    expect(s.send(Buffer.alloc(10))).toBe(false);
  });

  it('the writer never has more than one write pending, even for 5000 queued frames', async () => {
    const sock = new FakeSocket();
    const s = session(sock);
    let pausedAt = -1;
    for (let i = 0; i < 5000; i++) if (!s.send(Buffer.alloc(100, i & 0xff)) && pausedAt < 0) pausedAt = i;
    await new Promise<void>((r) => s.once('drain', r));
    await vi.waitFor(() => expect(sock.writes.length).toBe(5000), { timeout: 5000 });
    expect(sock.maxPending).toBe(1);
    // The first frame goes straight into flight; the 512th queued one reports back-pressure.
    expect(pausedAt).toBe(512);
    // Every write is exactly one well-formed frame, in order.
    const dec = new FrameDecoder();
    for (const [i, w] of sock.writes.entries()) {
      const frames = dec.push(w);
      expect(frames.length).toBe(1);
      expect(frames[0]!.payload[0]).toBe(i & 0xff);
    }
    expect(s.stats.packetsOut).toBe(5000);
  });

  it('logout sends DISCONNECT 0xb0 + reason and closes; close() sends nothing', async () => {
    const a = new FakeSocket();
    await session(a).logout('Client logout');
    expect(a.writes).toEqual([
      Buffer.concat([
        Buffer.from([0x53, 0x54, 0x46, 0x01, 0x00, 0x0e, 0x05, 0x00, 0xb0]),
        Buffer.from('Client logout'),
      ]),
    ]);
    expect(a.destroyed).toBe(true);
    const b = new FakeSocket();
    session(b).close();
    expect(b.writes).toEqual([]);
    expect(b.destroyed).toBe(true);
  });

  it('a write error ends the session as a transport failure', async () => {
    const sock = new FakeSocket(false);
    sock.write = (data: Buffer, cb: (err?: Error | null) => void) => {
      setImmediate(() => cb(new Error('EPIPE')));
      return false;
    };
    const s = session(sock);
    const closed = new Promise<CstpClosed>((r) => s.onClose(r));
    s.send(Buffer.alloc(10));
    expect(await closed).toEqual({ kind: 'transport', reason: 'EPIPE' });
  });
});

describe('rekey', () => {
  it('announces a due rekey once (new-tunnel: the owner reconnects), never for method none', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    const sock = new FakeSocket();
    const s = session(sock, { rekey: { seconds: 30, method: 'ssl' } });
    const due = vi.fn();
    s.on('rekey', due);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(due).toHaveBeenCalledExactlyOnceWith('ssl');
    s.close();
    const quiet = session(new FakeSocket(), { rekey: { seconds: 30, method: 'none' } });
    const never = vi.fn();
    quiet.on('rekey', never);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(never).not.toHaveBeenCalled();
    quiet.close();
  });
});

describe('FrameWriter', () => {
  it('flushed() resolves after the queue drained; stop() drops the rest', async () => {
    const sock = new FakeSocket();
    const w = new FrameWriter(sock as never, () => {});
    for (let i = 0; i < 10; i++) w.write(encodeFrame(PacketType.KEEPALIVE));
    await w.flushed(1000);
    expect(sock.writes.length).toBe(10);
    w.stop();
    expect(w.write(encodeFrame(PacketType.KEEPALIVE))).toBe(false);
  });
});

describe('tunnel configuration from a CONNECT response', () => {
  const OCSERV = `X-CSTP-Version: 1
X-CSTP-Server-Name: ocserv 1.1.6
X-CSTP-Hostname: vm
X-CSTP-DPD: 60
X-CSTP-Default-Domain: corp.proto.test
X-CSTP-Address: 192.168.77.146
X-CSTP-Netmask: 255.255.255.0
X-CSTP-DNS: 192.168.77.1
X-CSTP-Split-DNS: corp.proto.test
X-CSTP-Split-Include: 10.77.0.0/255.255.0.0
X-CSTP-Split-Include: 172.16.0.0/255.240.0.0
X-CSTP-Tunnel-All-DNS: false
X-CSTP-Client-Bypass-Protocol: false
X-CSTP-Split-Exclude: 10.77.99.0/255.255.255.0
X-CSTP-Split-Include-IP6: fd77::/48
X-CSTP-Address-IP6: fd77::146/64
X-CSTP-DNS-IP6: fd77::1
X-CSTP-Keepalive: 300
X-CSTP-Idle-Timeout: 1200
X-CSTP-Rekey-Time: 172819
X-CSTP-Rekey-Method: ssl
X-CSTP-Session-Timeout: 86400
X-CSTP-Session-Timeout-Remaining: 3600
X-CSTP-Disconnected-Timeout: none
X-DTLS-Port: 443
X-DTLS-App-ID: 7d9fe87fa71d84486cce1de82fe77ad31fa5f98cf6a67cbd20c71e93b58604ad
X-DTLS-CipherSuite: PSK-NEGOTIATE
X-CSTP-Base-MTU: 1500
X-CSTP-MTU: 1434
X-DTLS-MTU: 1406
X-CSTP-Banner: Proto Lab gateway: authorised use only`;
  const headers = OCSERV.split('\n').map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  });

  it('the captured ocserv answer (plus IPv6) becomes a typed configuration', () => {
    const c = parseTunnelConfig({ headers });
    expect(c).toMatchObject({
      ipv4: { address: '192.168.77.146', netmask: '255.255.255.0', prefix: 24 },
      ipv6: { address: 'fd77::146', prefix: 64 },
      dns: ['192.168.77.1', 'fd77::1'],
      defaultDomains: ['corp.proto.test'],
      splitDns: ['corp.proto.test'],
      splitInclude: [
        { address: '10.77.0.0', prefix: 16, family: 4 },
        { address: '172.16.0.0', prefix: 12, family: 4 },
        { address: 'fd77::', prefix: 48, family: 6 },
      ],
      splitExclude: [{ address: '10.77.99.0', prefix: 24, family: 4 }],
      tunnelAllDns: false,
      mtu: 1434,
      baseMtu: 1500,
      dpd: 60,
      keepalive: 300,
      idleTimeout: 1200,
      sessionTimeout: 3600,
      rekey: { seconds: 172819, method: 'ssl' },
      banner: 'Proto Lab gateway: authorised use only',
      serverName: 'ocserv 1.1.6',
      dtls: {
        port: 443,
        keying: { kind: 'psk', appId: '7d9fe87fa71d84486cce1de82fe77ad31fa5f98cf6a67cbd20c71e93b58604ad' },
        dpd: 0,
        keepalive: 0,
        rekey: null,
        mtu: 1406,
      },
      dtlsNote: null,
    });
    expect(previousLease(c)).toEqual(['192.168.77.146', 'fd77::146']);
  });

  it('the larger of X-CSTP-MTU and X-DTLS-MTU wins; conflicting duplicates are refused', () => {
    const base = headers.filter(([k]) => k !== 'x-cstp-mtu' && k !== 'x-dtls-mtu');
    expect(parseTunnelConfig({ headers: [...base, ['x-cstp-mtu', '1300'], ['x-dtls-mtu', '1406']] }).mtu).toBe(1406);
    expect(() => parseTunnelConfig({ headers: [...base, ['x-cstp-mtu', '1300'], ['x-cstp-mtu', '1400']] })).toThrow(
      /conflicting x-cstp-mtu/,
    );
  });
});

describe('CONNECT request and secrets', () => {
  it('headers: webvpn cookie only, the 96-hex master secret registered as a secret, PSK-NEGOTIATE offered', () => {
    const gw = describeGatewayUrl('https://vpn.lab.test:8443/corp');
    const request = {
      gateway: gw,
      cookie: 'AKgwc0uzV5F09ZLBuolbp0QcwIuwpaERELsBCoVIvrw=',
      localHostname: 'pc-1',
      previousAddresses: ['192.168.77.146'],
    };
    const dtlsSecret = randomBytes(48);
    const h = connectHeaders(request, dtlsSecret);
    const get = (n: string) => h.filter(([k]) => k === n).map(([, v]) => v);
    expect(get('Host')).toEqual(['vpn.lab.test:8443']);
    expect(get('Cookie')).toEqual(['webvpn=AKgwc0uzV5F09ZLBuolbp0QcwIuwpaERELsBCoVIvrw=']);
    expect(get('X-CSTP-Address')).toEqual(['192.168.77.146']);
    expect(get('X-CSTP-Address-Type')).toEqual(['IPv6,IPv4']);
    expect(get('X-CSTP-MTU')).toEqual(['1390']);
    const secret = get('X-DTLS-Master-Secret')[0]!;
    expect(secret).toBe(dtlsSecret.toString('hex').toUpperCase());
    expect(get('X-DTLS-CipherSuite')[0]).toMatch(/^PSK-NEGOTIATE:/);
    expect(get('X-DTLS12-CipherSuite')[0]).toContain('AES256-GCM-SHA384');
    expect(redactor.string(`secret ${secret}`)).not.toContain(secret);
    // No DTLS (`dtls: false`): no secret and no DTLS header at all, as openconnect's --no-dtls.
    expect(connectHeaders(request, null).some(([k]) => k.startsWith('X-DTLS'))).toBe(false);
    expect(h.some(([k]) => /encoding/i.test(k))).toBe(false);
    expect(() => connectHeaders({ gateway: gw, cookie: 'a; evil=1' })).toThrow(/Cookie header/);
  });

  it('manifest SHA-1 compares case-insensitively over the raw bytes', () => {
    const body = Buffer.from('<AnyConnectProfile/>\n');
    const sha = '9b0bd1ba6e9d4b07c9c4c9b5d2b3e2a4d9e96b4e';
    const real = createHash('sha1').update(body).digest('hex');
    expect(manifestHashMatches(body, real.toUpperCase())).toBe(true);
    expect(manifestHashMatches(body, real)).toBe(true);
    expect(manifestHashMatches(Buffer.concat([body, Buffer.from(' ')]), real)).toBe(false);
    expect(manifestHashMatches(body, sha)).toBe(false);
    expect(manifestHashMatches(body, 'not-hex')).toBe(false);
  });
});
