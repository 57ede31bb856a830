/**
 * The data path over a real TLS connection (TLS 1.2, AES-GCM, like ocserv's Debian defaults),
 * with a TCP proxy in the middle that reads the TLS record layer: every CSTP frame must travel in
 * its own record (docs/protocol.md#one-frame-per-tls-record), also when the TUN hands over packets in bursts faster than TLS
 * can write them. Also: back-pressure both ways, and gateway frames reaching the TUN intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CstpSession,
  encodeFrame,
  FrameDecoder,
  PacketType,
  type CstpChannel,
  type TunnelConfig,
} from '@tandem/anyconnect';
import type { TunDevice, TunStats } from '@tandem/tunnel';
import { DataPath } from '../src/index.js';
import { issue } from '@tandem/testkit';

/** TLS 1.2 AES-GCM record overhead: 8-byte explicit nonce + 16-byte tag. */
const GCM12_OVERHEAD = 24;

/** A TUN stand-in: hands out queued packets in bursts per loop turn, like the readSync drain (256). */
class FakeTun implements TunDevice {
  readonly name = 'fake0';
  /** No fd: these tests carry no DTLS, whose native pump is the only reader that uses one. */
  readonly fd = -1;
  setReader(): void {}
  /** Backing buffers of packets fed with headroom: [headroom][packet][8-byte guard]. */
  readonly backing: Buffer[] = [];
  readonly written: Buffer[] = [];
  /** When true, write() refuses packets like a TUN whose write queue is full. */
  full = false;
  queued = 0;
  paused = false;
  pauses = 0;
  private handler: ((p: Buffer) => void) | null = null;
  private readonly pending: Buffer[] = [];
  /** `headroom` > 0: each packet is handed over as a view with that many spare bytes in front (0xEE until used). */
  constructor(
    private readonly burst = 256,
    readonly headroom = 0,
  ) {}
  start(onPacket: (p: Buffer) => void): void {
    this.handler = onPacket;
    this.pump();
  }
  feed(packets: Buffer[]): void {
    if (this.headroom === 0) this.pending.push(...packets);
    else {
      for (const p of packets) {
        const b = Buffer.alloc(this.headroom + p.length + 8, 0xee);
        p.copy(b, this.headroom);
        this.backing.push(b);
        this.pending.push(b.subarray(this.headroom, this.headroom + p.length));
      }
    }
    this.pump();
  }
  private pump(): void {
    setImmediate(() => {
      for (let i = 0; i < this.burst && this.pending.length && !this.paused && this.handler; i++)
        this.handler(this.pending.shift()!);
      if (this.pending.length && !this.paused) this.pump();
    });
  }
  write(packet: Uint8Array): boolean {
    if (this.full) return false;
    this.written.push(Buffer.from(packet));
    return true;
  }
  private drainListeners: Array<() => void> = [];
  onceWriteDrained(listener: () => void): () => void {
    this.drainListeners.push(listener);
    return () => {
      this.drainListeners = this.drainListeners.filter((l) => l !== listener);
    };
  }
  /** The device's queue has been written out: accepts packets again and tells the waiters. */
  drained(): void {
    this.full = false;
    this.queued = 0;
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }
  get drainWaiters(): number {
    return this.drainListeners.length;
  }
  pause(): void {
    if (!this.paused) this.pauses++;
    this.paused = true;
  }
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pump();
  }
  get backlog(): number {
    return this.pending.length;
  }
  close(): void {}
  stats(): TunStats {
    return {
      rxPackets: 0,
      rxBytes: 0,
      txPackets: this.written.length,
      txBytes: 0,
      txQueued: this.queued,
      txDropped: 0,
      txErrors: 0,
      txEagain: 0,
      rxBatches: 0,
      rxIdlePolls: 0,
    };
  }
}

const CONFIG: TunnelConfig = {
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
  serverName: 'test',
  dtls: null,
  dtlsNote: null,
};

interface Rig {
  session: CstpSession;
  socket: tls.TLSSocket;
  /** Client → server application-data record lengths (after the handshake). */
  records: number[];
  /** DATA frames the server decoded. */
  frames: Buffer[];
  server: tls.TLSSocket;
  close(): void;
}

let rig: Rig | null = null;
afterEach(() => {
  rig?.close();
  rig = null;
});

async function makeRig(): Promise<Rig> {
  const ca = await issue({ subject: 'CN=dp test CA', ca: true });
  const leaf = await issue({ subject: 'CN=localhost', san: [{ type: 'dns', value: 'localhost' }] }, ca);
  const frames: Buffer[] = [];
  const closers: Array<() => void> = [];
  const records: number[] = [];
  let proxyPort: (port: number) => void = () => {};
  const proxyReady = new Promise<number>((r) => (proxyPort = r));
  let serverSide: tls.TLSSocket | null = null;
  const gotServer = new Promise<tls.TLSSocket>((resolve) => {
    const srv = tls.createServer(
      { key: leaf.keyPem, cert: leaf.certPem, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
      (s) => {
        serverSide = s;
        const dec = new FrameDecoder();
        s.on('data', (d: Buffer) => {
          for (const f of dec.push(d)) if (f.type === PacketType.DATA) frames.push(Buffer.from(f.payload));
        });
        s.on('error', () => {});
        resolve(s);
      },
    );
    srv.listen(0, '127.0.0.1', () => proxyTo((srv.address() as net.AddressInfo).port));
    closers.push(() => srv.close());
  });
  function proxyTo(upstreamPort: number): void {
    const proxy = net.createServer((down) => {
      const up = net.connect(upstreamPort, '127.0.0.1');
      let buf = Buffer.alloc(0);
      down.on('data', (d: Buffer) => {
        up.write(d);
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          const len = buf.readUInt16BE(3);
          // 23 = application_data; the handshake's encrypted Finished is type 22.
          if (buf[0] === 23) records.push(len);
          buf = buf.subarray(5 + len);
        }
      });
      up.on('data', (d: Buffer) => down.write(d));
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
      closers.push(() => {
        up.destroy();
        down.destroy();
      });
    });
    proxy.listen(0, '127.0.0.1', () => proxyPort((proxy.address() as net.AddressInfo).port));
    closers.push(() => proxy.close());
  }
  const port = await proxyReady;
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: ca.certPem });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  socket.pause();
  const channel = { socket, config: CONFIG, server: {}, initial: Buffer.alloc(0) } as unknown as CstpChannel;
  const session = new CstpSession(channel);
  const server = await gotServer;
  return {
    session,
    socket,
    records,
    frames,
    server,
    close: () => {
      session.close();
      serverSide?.destroy();
      for (const c of closers) c();
    },
  };
}

async function until(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('data path: TUN → CSTP, one frame per TLS record', () => {
  // headroom 8: the TUN leaves room for the CSTP header in front of each packet, and the frame
  // is written in place (no copy); the guard bytes after each packet must stay untouched.
  for (const headroom of [0, 8])
    it(`20 000 packets handed over in bursts arrive intact, each in its own record; the TUN is paused while the queue is full (headroom ${headroom})`, async () => {
      rig = await makeRig();
      // Bursts larger than the writer's high-water mark (512 frames), so back-pressure must engage.
      const tun = new FakeTun(1000, headroom);
      const dp = new DataPath(tun);
      dp.attach(rig.session, rig.socket);
      const packets = Array.from({ length: 20_000 }, (_, i) => randomBytes(40 + ((i * 7919) % 1361)));
      const t0 = performance.now();
      tun.feed(packets);
      const r = rig;
      await until(() => r.frames.length === packets.length);
      const seconds = (performance.now() - t0) / 1000;
      await until(() => r.records.length >= packets.length);
      const bytes = packets.reduce((n, p) => n + p.length, 0);
      process.stdout.write(
        `data path (loopback TLS 1.2): ${packets.length} packets in ${(seconds * 1000).toFixed(0)} ms = ${Math.round(packets.length / seconds)} packets/s, ${((bytes * 8) / seconds / 1e9).toFixed(2)} Gbit/s; TUN paused ${dp.stats.pauses}×\n`,
      );
      const digest = (list: Buffer[]): string => list.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
      expect(digest(r.frames)).toBe(digest(packets));
      expect(r.records.length).toBe(packets.length);
      expect(r.records.map((len, i) => len - GCM12_OVERHEAD - 8 - packets[i]!.length).filter((d) => d !== 0)).toEqual(
        [],
      );
      expect(dp.stats.toGateway).toBe(packets.length);
      expect(dp.stats.pauses).toBeGreaterThan(0);
      expect(tun.paused).toBe(false);
      if (headroom > 0) {
        // The header went into the headroom ("STF", version 1, length, type DATA) and nothing
        // past the packet was written.
        const framedInPlace = tun.backing.filter(
          (b, i) => b.subarray(0, 3).toString('latin1') === 'STF' && b.readUInt16BE(4) === packets[i]!.length,
        );
        expect(framedInPlace.length).toBe(packets.length);
        expect(tun.backing.filter((b) => !b.subarray(b.length - 8).equals(Buffer.alloc(8, 0xee)))).toEqual([]);
      }
    }, 60_000);

  it('packets read during a reconnect (no session) are dropped and counted, not queued', async () => {
    rig = await makeRig();
    const tun = new FakeTun();
    const dp = new DataPath(tun);
    dp.attach(rig.session, rig.socket);
    dp.detach();
    tun.feed([Buffer.alloc(100), Buffer.alloc(100)]);
    await until(() => dp.stats.droppedNoSession === 2);
    expect(rig.frames).toEqual([]);
  });
});

describe('data path: CSTP → TUN', () => {
  it('gateway frames reach the TUN intact; a full TUN pauses reading from the socket until its queue drains', async () => {
    rig = await makeRig();
    const tun = new FakeTun();
    const dp = new DataPath(tun);
    dp.attach(rig.session, rig.socket);
    const packets = Array.from({ length: 2000 }, (_, i) => randomBytes(60 + (i % 1300)));
    for (const p of packets.slice(0, 1000)) rig.server.write(encodeFrame(PacketType.DATA, p));
    await until(() => tun.written.length === 1000);
    // The TUN fills up: the next packet is refused, and the socket stops being read.
    tun.full = true;
    tun.queued = 1024;
    for (const p of packets.slice(1000)) rig.server.write(encodeFrame(PacketType.DATA, p));
    await until(() => dp.stats.socketPauses === 1);
    expect(rig.socket.isPaused()).toBe(true);
    const refused = dp.stats.droppedTunFull;
    await new Promise((r) => setTimeout(r, 50));
    // Still paused while the TUN queue is full: nothing more was read, and only the drain event resumes it.
    expect(dp.stats.droppedTunFull).toBe(refused);
    expect(rig.socket.isPaused()).toBe(true);
    expect(tun.drainWaiters).toBe(1);
    tun.drained();
    await until(() => tun.written.length + dp.stats.droppedTunFull === packets.length);
    expect(rig.socket.isPaused()).toBe(false);
    expect(dp.stats.fromGateway).toBe(packets.length);
    expect(tun.written.slice(0, 1000)).toEqual(packets.slice(0, 1000));
    expect(tun.written.slice(1000)).toEqual(packets.slice(1000 + refused));
  }, 30_000);

  it('a detach while the socket waits for the TUN to drain stops waiting (the next session starts clean)', async () => {
    rig = await makeRig();
    const tun = new FakeTun();
    const dp = new DataPath(tun);
    dp.attach(rig.session, rig.socket);
    tun.full = true;
    rig.server.write(encodeFrame(PacketType.DATA, randomBytes(100)));
    await until(() => dp.stats.socketPauses === 1);
    expect(tun.drainWaiters).toBe(1);
    dp.detach();
    expect(tun.drainWaiters).toBe(0);
    tun.drained();
    expect(rig.socket.isPaused()).toBe(true);
  });
});
