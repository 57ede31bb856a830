/**
 * The gateway's TUN data plane (root only). The device itself — `/dev/net/tun`, TUNSETIFF
 * through koffi, the non-blocking readSync drain and bounded writes — is the shared
 * `LinuxTunDevice` of @tandem/tunnel; this module gives it the pool's first address, brings
 * it up with `ip` (argument arrays, no shell) and routes packets: what the kernel sends into
 * the device goes to the tunnel whose client address is the IPv4 destination, and what clients
 * send is written to the device for the kernel to route on.
 *
 * Linux only, on purpose: the lab gateway routes with `ip` and runs in CI and lab VMs, so it opens
 * `LinuxTunDevice` directly instead of going through `openTunDevice` (tun-backend.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LinuxTunDevice } from '@tandem/tunnel';
import type { DataPlane, PacketSink } from './data-plane.js';
import { ipv4Destination } from './data-plane.js';

const run = promisify(execFile);

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
  private closed = false;
  /** Packets read from the TUN with no tunnel to deliver them to. */
  unroutable = 0;

  private constructor(private readonly device: LinuxTunDevice) {}

  /** Device name the kernel assigned. */
  get name(): string {
    return this.device.name;
  }

  /** Creates, addresses and starts the device. */
  static async open(o: TunBridgeOptions): Promise<TunBridge> {
    const device = LinuxTunDevice.open(o.name);
    const bridge = new TunBridge(device);
    try {
      await run('ip', ['addr', 'add', `${o.address}/${o.prefix}`, 'dev', device.name]);
      await run('ip', ['link', 'set', 'dev', device.name, 'up', 'mtu', String(o.mtu)]);
    } catch (err) {
      bridge.close();
      throw err;
    }
    // The device hands out slices of its receive pool; the sink (FrameWriter.send) copies the
    // packet into a frame synchronously, so no extra copy is needed here.
    device.start((packet) => {
      const dst = ipv4Destination(packet);
      const sink = dst ? bridge.sinks.get(dst) : undefined;
      if (sink) sink(packet);
      else bridge.unroutable++;
    }, o.onError);
    return bridge;
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
    // A full device queue drops the packet (counted by the device), as a router would.
    if (!this.closed) this.device.write(packet);
  }

  /** Closes the device; the kernel removes the non-persistent interface with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sinks.clear();
    this.device.close();
  }
}
