/**
 * The native packet pump between a packet fd and an established channel, with a datagram
 * socketpair standing in for the TUN (one read or write is one packet, as on a TUN): packets
 * from the fd leave as DATA records (type byte 0 added), DATA records from the server arrive on
 * the fd without it, other records reach the record handler, and a failing fd is reported as
 * the TUN's error, not the channel's. Sending goes out in batches (sendmmsg, UDP GSO runs) and
 * receiving comes in batches (recvmmsg): order and record boundaries must survive both.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sock, testLibc } from '@tandem/testkit';
import { DtlsClient, DtlsServer, type DtlsServerPeer } from '../src/index.js';

const { socketpair, write, read, close } = testLibc();

async function until<T>(check: () => T, what: string, ms = 5000): Promise<NonNullable<T>> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 10))) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('the DTLS packet pump (native)', () => {
  const key = randomBytes(32);
  const id = randomBytes(32);
  const atServer: Buffer[] = [];
  let peer: DtlsServerPeer | undefined;
  let server: DtlsServer;
  let client: DtlsClient;
  const sv = new Int32Array(2);
  const controls: Buffer[] = [];

  beforeAll(async () => {
    server = DtlsServer.listen({
      local: { address: '127.0.0.1', port: 0 },
      lookup: () => ({
        key,
        onConnected: (p) => (peer = p),
        onRecord: (record) => atServer.push(Buffer.from(record)),
      }),
    });
    client = await DtlsClient.connect({
      peer: { address: '127.0.0.1', port: server.address.port },
      keying: { kind: 'psk', key, sessionId: id },
      ciphers: 'PSK-AES128-GCM-SHA256',
      linkMtu: 1500,
      handshakeTimeoutMs: 5000,
    });
    client.start(
      (r, n) => controls.push(Buffer.from(r.subarray(0, n))),
      () => {},
    );
    expect(socketpair(Sock.AF_UNIX, Sock.DGRAM | Sock.NONBLOCK, 0, sv)).toBe(0);
    await until(() => peer, 'the server peer');
  });
  afterAll(() => {
    client?.close();
    server?.close();
    close(sv[0]!);
    close(sv[1]!);
  });

  it('sends the packets waiting on the fd as DATA records, one record each', async () => {
    const packets = [randomBytes(60), randomBytes(1400), randomBytes(1)];
    for (const p of packets) expect(write(sv[1]!, p, p.length)).toBe(p.length);
    const r = client.pumpFromTun(sv[0]!);
    expect(r).toEqual({ packets: 3, blocked: false, more: false });
    await until(() => atServer.length >= 3, 'three records at the server');
    expect(atServer).toEqual(packets.map((p) => Buffer.concat([Buffer.of(0x00), p])));
    expect(client.stats).toMatchObject({ pumpedOut: 3, pumpedBytesOut: 60 + 1400 + 1 + 3 });
    // Nothing waiting: drained at once.
    expect(client.pumpFromTun(sv[0]!)).toEqual({ packets: 0, blocked: false, more: false });
  });

  it('stops at the budget and says there is more', () => {
    for (let i = 0; i < 5; i++) write(sv[1]!, Buffer.of(i), 1);
    expect(client.pumpFromTun(sv[0]!, 3)).toEqual({ packets: 3, blocked: false, more: true });
    expect(client.pumpFromTun(sv[0]!, 3)).toEqual({ packets: 2, blocked: false, more: false });
  });

  it('writes DATA records from the server to the fd and hands the rest to the record handler', async () => {
    let delivered = 0;
    client.deliverDataTo(sv[0]!, (n) => (delivered += n));
    const data = [randomBytes(100), randomBytes(1300)];
    for (const d of data) peer!.send(Buffer.concat([Buffer.of(0x00), d]));
    peer!.send(Buffer.of(0x03, 1, 2, 3, 4));
    await until(() => delivered >= 2 && controls.length >= 1, 'two packets and a control record');
    const buf = Buffer.alloc(2000);
    const got: Buffer[] = [];
    for (let n = read(sv[1]!, buf, buf.length); n > 0; n = read(sv[1]!, buf, buf.length)) {
      got.push(Buffer.from(buf.subarray(0, n)));
    }
    expect(got).toEqual(data);
    expect(controls).toEqual([Buffer.of(0x03, 1, 2, 3, 4)]);
    expect(client.stats.pumpedIn).toBe(2);
    client.deliverDataTo(null);
  });

  it('a batch of equal packets (sent as UDP GSO runs) arrives as one record each, in order', async () => {
    atServer.length = 0;
    // 40 of one size, a shorter one that ends a run, 20 more, then odd sizes.
    const packets = [
      ...Array.from({ length: 40 }, (_, i) => Buffer.alloc(1300, i)),
      Buffer.alloc(700, 0xaa),
      ...Array.from({ length: 20 }, (_, i) => Buffer.alloc(1300, 100 + i)),
      randomBytes(1),
      randomBytes(999),
    ];
    for (const p of packets) expect(write(sv[1]!, p, p.length)).toBe(p.length);
    let sent = 0;
    while (sent < packets.length) {
      const r = client.pumpFromTun(sv[0]!);
      expect(r.blocked).toBe(false);
      sent += r.packets;
      if (!r.more) break;
    }
    expect(sent).toBe(packets.length);
    await until(() => atServer.length >= packets.length, 'every record at the server');
    expect(atServer).toEqual(packets.map((p) => Buffer.concat([Buffer.of(0x00), p])));
  });

  it('a burst from the server with control records inside: every packet in order, every control record', async () => {
    let delivered = 0;
    controls.length = 0;
    client.deliverDataTo(sv[0]!, (n) => (delivered += n));
    const data = Array.from({ length: 150 }, (_, i) => Buffer.alloc(200 + i, i));
    for (const [i, d] of data.entries()) {
      peer!.send(Buffer.concat([Buffer.of(0x00), d]));
      if (i % 50 === 25) peer!.send(Buffer.of(0x04, i));
    }
    await until(() => delivered >= data.length && controls.length >= 3, 'every packet and control record');
    const buf = Buffer.alloc(2000);
    const got: Buffer[] = [];
    for (let n = read(sv[1]!, buf, buf.length); n > 0; n = read(sv[1]!, buf, buf.length)) {
      got.push(Buffer.from(buf.subarray(0, n)));
    }
    expect(got).toEqual(data);
    expect(controls).toEqual([Buffer.of(0x04, 25), Buffer.of(0x04, 75), Buffer.of(0x04, 125)]);
    client.deliverDataTo(null);
  });

  it("a failing fd is the TUN's error: the channel stays open", () => {
    const r = client.pumpFromTun(987_654);
    expect(r.tunErrno).toBe(9); // EBADF
    expect(client.isClosed).toBe(false);
  });
});
