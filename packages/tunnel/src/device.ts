/**
 * The platform-neutral TUN device contract. Linux implements it with /dev/net/tun
 * ({@link LinuxTunDevice}), Windows with Wintun's ring buffers (tun-windows.ts) and macOS with a
 * utun control socket (tun-darwin.ts); `openTunDevice` (tun-backend.ts) picks one at start-up.
 * Addresses, MTU and routes are not the device's business: the {@link NetworkConfigurator} sets them.
 */

/** Called once per packet read from the device. The buffer stays valid after the call returns. */
export type PacketHandler = (packet: Buffer) => void;

/** Called when reading fails for a reason other than "no data now"; the device has stopped reading. */
export type DeviceErrorHandler = (err: Error) => void;

/** Counters, monotonic since open (except `txQueued`). */
export interface TunStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Packets waiting in the write queue right now. */
  txQueued: number;
  /** Packets dropped because the write queue was full (back-pressure). */
  txDropped: number;
  /** Writes that failed with an error other than EAGAIN (e.g. EIO while the link is down). */
  txErrors: number;
  /** Times a write hit EAGAIN and was queued. */
  txEagain: number;
  /** Read passes that delivered at least one packet. */
  rxBatches: number;
  /** Read passes that found nothing (a readiness report with no packet behind it); flat while idle. */
  rxIdlePolls: number;
}

/** An open layer-3 tunnel interface carrying raw IP packets, one packet per read/write. */
export interface TunDevice {
  /** Interface name the kernel assigned (e.g. `tandem0`). */
  readonly name: string;
  /**
   * Bytes reserved just before every delivered packet in its underlying buffer, which the
   * consumer may overwrite: a framing header can then be written in front of the packet and the
   * frame sent without allocating and copying (0 or absent: none).
   */
  readonly headroom?: number;
  /**
   * The device's fd, for a native pump that reads and writes raw IP packets on it itself
   * ({@link setReader}). Null where no such fd exists: Wintun has none, and a utun socket frames
   * every packet with a 4-byte family header. Packets then move only through {@link start} and
   * {@link write}.
   */
  readonly fd: number | null;
  /**
   * Hands reading to `reader` while set: when packets wait, the device calls `reader(fd)`
   * instead of reading them itself; a false answer pauses reading until {@link resume}. Null
   * gives reading back. (The DTLS pump reads and seals packets in one native call.) A device
   * whose `fd` is null refuses a reader.
   */
  setReader(reader: ((fd: number) => boolean) | null): void;
  /** Starts delivering packets to `onPacket`; calling it twice is an error. */
  start(onPacket: PacketHandler, onError?: DeviceErrorHandler): void;
  /**
   * Sends one IP packet into the host stack. Returns false when it was dropped because the
   * write queue is full. The buffer must not be modified afterwards if it was queued.
   */
  write(packet: Uint8Array): boolean;
  /**
   * Calls `listener` once, when the packets queued by {@link write} (the kernel was full) have all
   * been written; on the next turn of the event loop if nothing is queued now; never after
   * {@link close}. A consumer that saw `write()` return false waits here before feeding more.
   * Returns a function that cancels the call.
   */
  onceWriteDrained(listener: () => void): () => void;
  /** Stops reading (back-pressure from the network side); packets wait in the kernel queue. */
  pause(): void;
  /** Resumes reading after {@link pause}. */
  resume(): void;
  /** Stops reading and closes the device; the kernel removes a non-persistent interface. */
  close(): void;
  /** A copy of the counters. */
  stats(): TunStats;
}

/** Counters at zero, for a device that has just opened. */
export function zeroTunStats(): TunStats {
  return {
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    txQueued: 0,
    txDropped: 0,
    txErrors: 0,
    txEagain: 0,
    rxBatches: 0,
    rxIdlePolls: 0,
  };
}
