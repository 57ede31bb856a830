/**
 * Our DtlsClient against our DtlsServer over 127.0.0.1: a PSK handshake, records both ways up
 * to 1400 bytes, a wrong key, an unknown session id, garbage and a replayed record (through a
 * UDP relay that sees every datagram), a second handshake of the same session replacing the
 * first; then the client against `openssl s_server -dtls1_2 -psk` when openssl is installed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import { missing, titled, which } from '@tandem/testkit';
import { DtlsClient } from '../src/client.js';
import { DtlsServer, type DtlsServerPeer, type DtlsServerSession } from '../src/server.js';

const LOCAL = '127.0.0.1';
const CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256';

/** Waits until `check` returns something truthy. */
async function until<T>(check: () => T, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A UDP relay between one client and the server that keeps every client → server datagram. */
class Relay {
  readonly sock: Socket = createSocket('udp4');
  readonly toServer: Buffer[] = [];
  private client: { address: string; port: number } | null = null;

  constructor(private readonly serverPort: number) {
    this.sock.on('message', (msg, rinfo) => {
      if (rinfo.port === serverPort) {
        if (this.client) this.sock.send(msg, this.client.port, this.client.address);
        return;
      }
      this.client = { address: rinfo.address, port: rinfo.port };
      this.toServer.push(Buffer.from(msg));
      this.sock.send(msg, serverPort, LOCAL);
    });
  }

  async bind(): Promise<number> {
    await new Promise<void>((r) => this.sock.bind(0, LOCAL, r));
    return this.sock.address().port;
  }

  /** Sends `datagram` to the server from the relay's address, which the server knows as the peer. */
  inject(datagram: Buffer): void {
    this.sock.send(datagram, this.serverPort, LOCAL);
  }
}

interface Grant {
  session: DtlsServerSession;
  records: Buffer[];
  peers: DtlsServerPeer[];
  closes: string[];
}

describe('DtlsServer ↔ DtlsClient on loopback', () => {
  let server: DtlsServer;
  const grants = new Map<string, Grant>();
  const errors: unknown[] = [];

  /** A session the server knows: a random App-ID and key; DPD-REQ (0x03) records are answered. */
  function grant(): { id: Buffer; key: Buffer; g: Grant } {
    const id = randomBytes(32);
    const key = randomBytes(32);
    const g: Grant = { records: [], peers: [], closes: [], session: undefined as unknown as DtlsServerSession };
    g.session = {
      key,
      onConnected: (peer) => g.peers.push(peer),
      onRecord: (record, peer) => {
        g.records.push(Buffer.from(record));
        if (record[0] === 0x03) peer.send(Buffer.concat([Buffer.of(0x04), record.subarray(1)]));
      },
      onClose: (_peer, reason) => g.closes.push(reason),
    };
    grants.set(id.toString('hex'), g);
    return { id, key, g };
  }

  function connect(port: number, id: Buffer, key: Buffer, timeoutMs = 5000): Promise<DtlsClient> {
    return DtlsClient.connect({
      peer: { address: LOCAL, port },
      keying: { kind: 'psk', key, sessionId: id },
      ciphers: CIPHERS,
      linkMtu: 1500,
      handshakeTimeoutMs: timeoutMs,
    });
  }

  beforeAll(() => {
    server = DtlsServer.listen({
      local: { address: LOCAL, port: 0 },
      lookup: (id) => grants.get(id.toString('hex'))?.session ?? null,
      handshakeTimeoutMs: 1500,
      onError: (err) => errors.push(err),
    });
  });
  afterAll(() => server?.close());

  it('completes a PSK handshake and carries records both ways, 1400 bytes included', async () => {
    const { id, key, g } = grant();
    const handshakes = server.stats.handshakes;
    const client = await connect(server.address.port, id, key);
    try {
      expect(client.cipher).toBe('PSK-AES256-GCM-SHA384');
      expect(client.version).toBe('DTLSv1.2');
      const peer = await until(() => g.peers[0], 'the server peer');
      expect(peer.cipher).toBe('PSK-AES256-GCM-SHA384');
      expect(peer.remote.address).toBe(LOCAL);
      expect(server.peerOf(id)).toBe(peer);
      expect(server.stats.handshakes).toBe(handshakes + 1);

      const got: Buffer[] = [];
      client.start(
        (r, n) => got.push(Buffer.from(r.subarray(0, n))),
        (err) => errors.push(err),
      );
      const big = Buffer.concat([Buffer.of(0x00), randomBytes(1399)]);
      expect(client.send(Buffer.of(0x07))).toBe(true);
      expect(client.send(big)).toBe(true);
      await until(() => g.records.length >= 2, 'two records at the server');
      expect(g.records[0]).toEqual(Buffer.of(0x07));
      expect(g.records[1]).toEqual(big);

      const down = Buffer.concat([Buffer.of(0x00), randomBytes(1399)]);
      expect(peer.send(down)).toBe(true);
      expect(client.send(Buffer.from([0x03, 1, 2, 3]))).toBe(true);
      await until(() => got.length >= 2, 'two records at the client');
      expect(got[0]).toEqual(down);
      expect(got[1]).toEqual(Buffer.from([0x04, 1, 2, 3]));
    } finally {
      client.close();
    }
    // The client's close_notify closes the server's peer.
    await until(() => g.closes.length === 1, 'the peer to close');
    expect(g.closes[0]).toBe('the client closed the channel');
    expect(server.peerOf(id)).toBeUndefined();
  });

  it('a wrong key: the client gives up with E_DTLS and the server drops the half-made peer', async () => {
    const { id, g } = grant();
    const failures = server.stats.handshakeFailures;
    const err = await connect(server.address.port, id, randomBytes(32), 1200).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTandemError(err) && err.code).toBe(ErrorCodes.DTLS);
    await until(() => g.closes.length === 1, 'the server to drop the handshake', 4000);
    // A wrong key makes the client's Finished undecryptable, which DTLS drops silently: both ends time out.
    expect(g.closes[0]).toMatch(/^no DTLS handshake within/);
    expect(g.peers).toEqual([]);
    expect(server.stats.handshakeFailures).toBe(failures + 1);
    expect(server.peerOf(id)).toBeUndefined();
  });

  it('a client with an unknown session id gets no session', async () => {
    const dropped = server.stats.dropped.unknownSession;
    const peers = server.peers;
    const err = await connect(server.address.port, randomBytes(32), randomBytes(32), 800).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTandemError(err) && err.code).toBe(ErrorCodes.DTLS);
    expect(server.stats.dropped.unknownSession).toBeGreaterThan(dropped);
    expect(server.peers).toBe(peers);
  });

  it('drops garbage from strangers, and garbage and a replayed record from the peer, and keeps working', async () => {
    const stranger = createSocket('udp4');
    const send = (b: Buffer): Promise<void> =>
      new Promise((r) => stranger.send(b, server.address.port, LOCAL, () => r()));
    const before = structuredClone(server.stats.dropped);
    await send(randomBytes(200));
    await send(Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 1, 0])); // a truncated ClientHello
    await send(Buffer.alloc(0));
    await until(() => server.stats.dropped.malformed > before.malformed, 'the malformed drop');
    await until(() => server.stats.dropped.notClientHello >= before.notClientHello + 2, 'the stranger drops');
    stranger.close();

    const { id, key, g } = grant();
    const relay = new Relay(server.address.port);
    const client = await connect(await relay.bind(), id, key);
    try {
      const got: Buffer[] = [];
      client.start(
        (r, n) => got.push(Buffer.from(r.subarray(0, n))),
        (err) => errors.push(err),
      );
      const peer = await until(() => g.peers[0], 'the server peer');
      client.send(Buffer.from([0x00, 0xaa, 0xbb]));
      await until(() => g.records.length === 1, 'the first record');
      const record = relay.toServer[relay.toServer.length - 1] as Buffer;
      expect(record[0]).toBe(23); // application data

      const discarded = server.stats.dropped.discarded;
      relay.inject(record); // a replay
      relay.inject(randomBytes(300)); // garbage from the peer's own address
      const forged = Buffer.from(record);
      forged[forged.length - 1]! ^= 1; // a tampered record
      relay.inject(forged);
      await until(() => server.stats.dropped.discarded >= discarded + 3, 'three discarded datagrams');
      expect(g.records).toHaveLength(1);
      expect(g.closes).toEqual([]);

      client.send(Buffer.from([0x03, 9]));
      await until(() => got.length === 1, 'the DPD answer');
      expect(got[0]).toEqual(Buffer.from([0x04, 9]));
      expect(peer.isOpen).toBe(true);
    } finally {
      client.close();
      relay.sock.close();
    }
  });

  it('a new handshake of the same session from a new address replaces the old peer', async () => {
    const { id, key, g } = grant();
    const first = await connect(server.address.port, id, key);
    const firstErrors: unknown[] = [];
    first.start(
      () => {},
      (err) => firstErrors.push(err),
    );
    const old = await until(() => g.peers[0], 'the first peer');
    const second = await connect(server.address.port, id, key);
    try {
      const fresh = await until(() => g.peers[1], 'the second peer');
      expect(fresh.remote.port).not.toBe(old.remote.port);
      expect(old.isClosed).toBe(true);
      expect(g.closes).toEqual(['replaced by a new handshake of the same session']);
      expect(server.peerOf(id)).toBe(fresh);
      // The old client heard close_notify.
      await until(() => firstErrors.length === 1, 'the first client to hear of the close');
      second.send(Buffer.from([0x00, 1]));
      await until(() => g.records.length === 1, 'a record on the new peer');
    } finally {
      first.close();
      second.close();
    }
  });

  it('reported no errors', () => {
    expect(errors).toEqual([]);
  });
});

const noOpenssl = missing('openssl');

describe.skipIf(noOpenssl !== null)(titled('DtlsClient ↔ openssl s_server -dtls1_2 -psk', noOpenssl), () => {
  it('handshakes with the PSK and exchanges application data', async () => {
    const key = randomBytes(32);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const openssl = which('openssl') as string;
    const child = spawn(
      openssl,
      [
        's_server',
        '-dtls1_2',
        '-nocert',
        '-psk',
        key.toString('hex'),
        '-psk_identity',
        'psk',
        '-cipher',
        'PSK-AES128-GCM-SHA256',
        '-accept',
        `${LOCAL}:${port}`,
        '-naccept',
        '1',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('latin1')));
    try {
      await until(() => out.includes('ACCEPT'), 'openssl s_server to listen');
      const client = await DtlsClient.connect({
        peer: { address: LOCAL, port },
        keying: { kind: 'psk', key, sessionId: randomBytes(32) },
        ciphers: CIPHERS,
        linkMtu: 1500,
        handshakeTimeoutMs: 5000,
      });
      try {
        expect(client.cipher).toBe('PSK-AES128-GCM-SHA256');
        const got: Buffer[] = [];
        client.start(
          (r, n) => got.push(Buffer.from(r.subarray(0, n))),
          () => {},
        );
        client.send(Buffer.from('hello from tandem\n'));
        await until(() => out.includes('hello from tandem'), 's_server to print the record');
        child.stdin.write('hello from openssl\n');
        await until(() => Buffer.concat(got).toString().includes('hello from openssl'), 'the answer');
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
