/**
 * A TUN device for the gateway's data plane (root only). The device is created with the
 * TUNSETIFF ioctl through koffi (Node has no API for it), given the pool's first address and
 * brought up with `ip` (argument arrays, no shell). Packets read from the device are routed to
 * the tunnel whose client address is the IPv4 destination; packets from clients are written
 * to the device and the kernel routes them on.
 *
 * The fd is non-blocking and drained with readSync: libuv has no pollable stream type for a
 * character device, and a blocking read would stall the event loop. When the device is empty
 * the loop backs off to a 1 ms timer, which bounds the added latency.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { DataPlane, PacketSink } from './data-plane.js';
import { ipv4Destination } from './data-plane.js';

const run = promisify(execFile);

const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFREQ_SIZE = 40;
const READ_BUFFER = 65536;

let ioctlFn: ((fd: number, req: number, arg: Buffer) => number) | null = null;

function ioctl(): (fd: number, req: number, arg: Buffer) => number {
  if (!ioctlFn) {
    // Loaded lazily so the echo mode and --help work where koffi's native part is unavailable.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    ioctlFn = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as (fd: number, req: number, arg: Buffer) => number;
  }
  return ioctlFn;
}

/** Opens `/dev/net/tun` as an IPv4/IPv6 TUN without packet info; returns the fd. */
export function openTunFd(name: string): number {
  const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, 15, 'ascii');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
  if (ioctl()(fd, TUNSETIFF, ifr) !== 0) {
    closeSync(fd);
    throw new Error(`TUNSETIFF ${name} failed (need root/CAP_NET_ADMIN)`);
  }
  return fd;
}

/** Options of {@link TunBridge.open}. */
export interface TunBridgeOptions {
  name: string;
  /** Gateway tunnel address (the pool's first host). */
  address: string;
  prefix: number;
  mtu: number;
  onError: (err: unknown) => void;
}

/** The TUN data plane. */
export class TunBridge implements DataPlane {
  private readonly sinks = new Map<string, PacketSink>();
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private closed = false;
  /** Packets read from the TUN with no tunnel to deliver them to. */
  unroutable = 0;

  private constructor(private readonly fd: number, readonly name: string, private readonly onError: (err: unknown) => void) {}

  /** Creates, addresses and starts the device. */
  static async open(o: TunBridgeOptions): Promise<TunBridge> {
    const fd = openTunFd(o.name);
    const bridge = new TunBridge(fd, o.name, o.onError);
    try {
      await run('ip', ['addr', 'add', `${o.address}/${o.prefix}`, 'dev', o.name]);
      await run('ip', ['link', 'set', 'dev', o.name, 'up', 'mtu', String(o.mtu)]);
    } catch (err) {
      bridge.close();
      throw err;
    }
    bridge.schedule(false);
    return bridge;
  }

  private schedule(busy: boolean): void {
    if (this.closed) return;
    this.timer = busy ? setImmediate(() => this.drain()) : setTimeout(() => this.drain(), 1);
  }

  private drain(): void {
    let got = 0;
    for (; got < 256 && !this.closed; got++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, READ_BUFFER, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.onError(err);
        break;
      }
      if (n <= 0) break;
      const packet = Buffer.from(this.buf.subarray(0, n));
      const dst = ipv4Destination(packet);
      const sink = dst ? this.sinks.get(dst) : undefined;
      if (sink) sink(packet);
      else this.unroutable++;
    }
    this.schedule(got > 0);
  }

  /** {@inheritDoc DataPlane.attach} */
  attach(address: string, sink: PacketSink): void {
    this.sinks.set(address, sink);
  }

  /** {@inheritDoc DataPlane.detach} */
  detach(address: string): void {
    this.sinks.delete(address);
  }

  /** {@inheritDoc DataPlane.fromClient} */
  fromClient(_address: string, packet: Buffer): void {
    if (this.closed) return;
    try {
      writeSync(this.fd, packet);
    } catch (err) {
      // A full device queue drops the packet, as a router would; anything else is reported.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.onError(err);
    }
  }

  /** Closes the fd; the kernel removes the non-persistent device with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.sinks.clear();
    closeSync(this.fd);
  }
}
