/**
 * TlsClient (@tandem/dtls) against Node's own TLS server: the handshake with a client
 * certificate (plain and passphrase-protected keys), OpenSSL's verdict on the server's chain,
 * plaintext both ways, and the CSTP pump — DATA frames from the server reach a datagram
 * socketpair standing in for the TUN in order however the server cuts them into records, control
 * frames are emitted whole, a partial frame carried over from the caller's decoder is completed,
 * a bad frame ends the connection, a full TUN hands the packet back without losing any, and
 * packets from the "TUN" reach the server as one DATA frame each.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TlsClient } from '@tandem/dtls';
import { Sock, standardLab, testLibc, type Lab } from '@tandem/testkit';

const { socketpair, write, read, close, shutdown, setsockopt } = testLibc();

/** A CSTP frame: STF\x01, length, type, 0, payload. */
function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.from([0x53, 0x54, 0x46, 0x01, payload.length >> 8, payload.length & 0xff, type, 0]);
  return Buffer.concat([h, payload]);
}

async function until<T>(check: () => T, what: string, ms = 5000): Promise<NonNullable<T>> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 5))) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Reads every datagram waiting on `fd`. */
function drainFd(fd: number): Buffer[] {
  const buf = Buffer.alloc(70_000);
  const got: Buffer[] = [];
  for (let n = read(fd, buf, buf.length); n > 0; n = read(fd, buf, buf.length))
    got.push(Buffer.from(buf.subarray(0, n)));
  return got;
}

describe('TlsClient: OpenSSL records over a Node TCP socket', () => {
  let lab: Lab;
  let server: Server;
  let port = 0;
  let peer: TLSSocket | null = null;
  const received: Buffer[] = [];
  const clients: TlsClient[] = [];
  const pairs: Int32Array[] = [];

  beforeAll(async () => {
    lab = await standardLab('tls-client');
    server = createServer(
      {
        cert: lab.server.certPem + lab.intermediate.certPem,
        key: lab.server.keyPem,
        ca: lab.caBundle,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (s) => {
        peer = s;
        s.on('data', (d: Buffer) => received.push(d));
        s.on('error', () => {});
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    for (const sv of pairs.splice(0)) {
      close(sv[0]!);
      close(sv[1]!);
    }
    peer = null;
    received.length = 0;
  });
  afterAll(() => server?.close());

  const connect = async (over: Partial<Parameters<typeof TlsClient.connect>[0]> = {}): Promise<TlsClient> => {
    const c = await TlsClient.connect({
      host: '127.0.0.1',
      port,
      servername: 'vpn.lab.test',
      ca: lab.caBundle,
      identity: { cert: lab.machine.certPem, key: lab.machine.keyPem },
      timeoutMs: 5000,
      ...over,
    });
    clients.push(c);
    await until(() => peer, 'the server side');
    return c;
  };
  const tun = (): Int32Array => {
    const sv = new Int32Array(2);
    expect(socketpair(Sock.AF_UNIX, Sock.DGRAM | Sock.NONBLOCK, 0, sv)).toBe(0);
    pairs.push(sv);
    return sv;
  };

  it('presents the client certificate, and OpenSSL validates the server chain to the root', async () => {
    const c = await connect();
    expect(c.peer.authorized).toBe(true);
    expect(c.peer.chainDer).toHaveLength(3); // leaf, issuing CA, the root that completed the path
    expect(c.getProtocol()).toBe('TLSv1.3');
    expect(c.getCipher()?.standardName).toMatch(/^TLS_/);
    expect(peer!.getPeerX509Certificate()?.subject).toMatch(/CN=machine\.lab\.test/);
    // Both ends derive the same exporter value: the DTLS PSK comes from it.
    expect(c.exportKeyingMaterial(32, 'EXPORTER-openconnect-psk')).toEqual(
      peer!.exportKeyingMaterial(32, 'EXPORTER-openconnect-psk', undefined as unknown as Buffer),
    );
  });

  it('a passphrase-protected key works; a key of another certificate is E_CERT_KEY', async () => {
    const encrypted = createPrivateKey(lab.machine.keyPem)
      .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'canary-pass' })
      .toString();
    const c = await connect({ identity: { cert: lab.machine.certPem, key: encrypted, passphrase: 'canary-pass' } });
    expect(c.peer.authorized).toBe(true);
    await expect(connect({ identity: { cert: lab.machine.certPem, key: lab.user.keyPem } })).rejects.toMatchObject({
      code: 'E_CERT_KEY',
    });
  });

  it('records the verdict on an untrusted chain without refusing it (the caller decides)', async () => {
    const other = await standardLab('tls-client-other');
    const c = await connect({ ca: other.caBundle });
    expect(c.peer.authorized).toBe(false);
    expect(c.peer.authorizationError).toMatch(/^(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)$/);
  });

  it('plaintext both ways', async () => {
    const c = await connect();
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await until(() => Buffer.concat(received).length >= 18, 'the request at the server');
    expect(Buffer.concat(received).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
    peer!.write('HTTP/1.1 200 OK\r\n\r\n');
    await until(() => got.length > 0, 'the answer');
    expect(Buffer.concat(got).toString()).toBe('HTTP/1.1 200 OK\r\n\r\n');
  });

  it('DATA frames reach the TUN in order however records cut them; control frames come out whole', async () => {
    const c = await connect();
    const sv = tun();
    const controls: Buffer[] = [];
    c.on('data', (d: Buffer) => controls.push(d));
    let delivered = 0;
    // The caller's decoder had the first 5 bytes of a frame when the pump took over.
    const first = frame(0, randomBytes(300));
    c.deliverDataTo(sv[0]!, { onDelivered: (n) => (delivered += n), carry: first.subarray(0, 5), maxPayload: 2048 });
    const packets = Array.from({ length: 40 }, (_, i) => randomBytes(100 + i * 30));
    const stream = Buffer.concat([
      first.subarray(5),
      ...packets.slice(0, 20).map((p) => frame(0, p)),
      frame(3, Buffer.of(1, 2, 3)), // DPD-REQ
      ...packets.slice(20).map((p) => frame(0, p)),
    ]);
    // Records of odd sizes: frames split across records and several frames in one record.
    for (let off = 0; off < stream.length; off += 777) peer!.write(stream.subarray(off, off + 777));
    await until(() => delivered >= 41, 'every DATA frame');
    expect(drainFd(sv[1]!)).toEqual([first.subarray(8), ...packets]);
    expect(controls).toEqual([frame(3, Buffer.of(1, 2, 3))]);
    expect(c.pumped.packetsIn).toBe(41);
  });

  it('a frame without its header or longer than allowed ends the connection', async () => {
    for (const bad of [Buffer.from('GARBAGE!GARBAGE!'), frame(0, Buffer.alloc(3000))]) {
      const c = await connect();
      const sv = tun();
      const errors: Error[] = [];
      c.on('error', (e: Error) => errors.push(e));
      c.deliverDataTo(sv[0]!, { maxPayload: 2048 });
      peer!.write(bad);
      await until(() => c.destroyed, 'the connection closed');
      expect(errors[0]?.message).toMatch(/STF header|longer than allowed/);
      peer = null;
    }
  });

  it('a full TUN hands the packet back and stops reading until retried: nothing lost', async () => {
    const c = await connect();
    const sv = tun();
    // A tiny send buffer on the pump's end: the "TUN" refuses writes after a few packets.
    expect(setsockopt(sv[0]!, 1, 7, Int32Array.of(4096), 4)).toBe(0); // SOL_SOCKET, SO_SNDBUF
    let refusedAt = -1;
    const queued: Buffer[] = [];
    const pending: { retry: (() => void) | null } = { retry: null };
    let delivered = 0;
    c.deliverDataTo(sv[0]!, {
      onDelivered: (n) => (delivered += n),
      onTunFull: (packet, again) => {
        if (refusedAt < 0) refusedAt = delivered;
        queued.push(packet);
        pending.retry = again;
      },
    });
    const packets = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1000, i));
    peer!.write(Buffer.concat(packets.map((p) => frame(0, p))));
    const got: Buffer[] = [];
    await until(() => pending.retry, 'the TUN to refuse a packet');
    for (let rounds = 0; got.length + queued.length < 200 && rounds < 1000; rounds++) {
      got.push(...drainFd(sv[1]!));
      got.push(...queued.splice(0)); // what the caller queued goes to the TUN in order
      const r = pending.retry;
      pending.retry = null;
      r?.();
      await new Promise((res) => setTimeout(res, 2));
    }
    got.push(...drainFd(sv[1]!), ...queued.splice(0));
    expect(refusedAt).toBeGreaterThan(0);
    expect(got).toEqual(packets);
  });

  it('a TUN that refuses packets for good loses them and the connection goes on (a link still down)', async () => {
    const c = await connect();
    const sv = tun();
    // The far end stops reading: every write fails (EPIPE here; a TUN whose link is not up yet
    // answers EIO), which must cost the packets, not the session.
    expect(shutdown(sv[1]!, 0)).toBe(0); // SHUT_RD
    let delivered = 0;
    c.deliverDataTo(sv[0]!, { onDelivered: (n) => (delivered += n) });
    const controls: Buffer[] = [];
    c.on('data', (d: Buffer) => controls.push(d));
    peer!.write(Buffer.concat([frame(0, randomBytes(100)), frame(0, randomBytes(100)), frame(3, Buffer.of(9))]));
    await until(() => controls.length > 0, 'the control frame after the lost packets');
    expect(delivered).toBe(2);
    expect(c.pumped.tunDrops).toBe(2);
    expect(c.destroyed).toBe(false);
  });

  it('packets from the TUN reach the server as one DATA frame each, in order', async () => {
    const c = await connect();
    const sv = tun();
    const packets = Array.from({ length: 150 }, (_, i) => randomBytes(64 + ((i * 97) % 1400)));
    let sent = 0;
    // In rounds of 30: the socketpair holds only so much.
    for (let i = 0; i < packets.length; i += 30) {
      for (const p of packets.slice(i, i + 30)) expect(write(sv[1]!, p, p.length)).toBe(p.length);
      sent += c.pumpFromTun(sv[0]!).packets;
    }
    expect(c.pumpFromTun(sv[0]!).packets).toBe(0);
    expect(sent).toBe(150);
    const want = Buffer.concat(packets.map((p) => frame(0, p)));
    await until(() => Buffer.concat(received).length >= want.length, 'every frame at the server');
    expect(Buffer.concat(received)).toEqual(want);
    expect(c.pumped.packetsOut).toBe(150);
  });
});
