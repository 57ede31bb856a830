/**
 * The CSTP session on an open channel (docs/protocol.md#cstp-framing to #disconnect-and-logout): framing, DPD and keepalive timers,
 * answering the gateway's DPD, server DISCONNECT/TERMINATE, and logout.
 *
 * Timers follow openconnect (docs/protocol.md#dpd-and-keepalive): after `dpd` seconds without receiving anything send
 * DPD-REQ, repeat every `dpd/2` while still silent, and declare the gateway dead after `2×dpd`
 * (event `dead`, then `closed`). Keepalive goes out after `keepalive` seconds without sending,
 * unless data is queued. All writes go through {@link FrameWriter} (one frame per TLS record).
 *
 * Events: `packet(ip: Buffer)` (a view: copy to keep), `dead(reason)`, `closed(CstpClosed)`,
 * `drain()` (send queue below the low-water mark again), `rekey(method)` (the gateway's
 * X-CSTP-Rekey-Time has passed: reconnect with the cookie — the new-tunnel method).
 */
import { EventEmitter } from 'node:events';
import { ErrorCodes, TandemError, nullLogger, type Logger } from '@tandem/common';
import { CSTP_HEADER_LEN, encodeFrame, encodeLogout, FrameDecoder, PacketType, writeHeader } from './framing.js';
import type { TlsClient } from '@tandem/dtls';
import type { CstpChannel } from './cstp-connect.js';
import { FrameWriter } from './cstp-writer.js';
import { livenessDue, livenessPeriodMs } from './liveness.js';

/** Why a session ended. */
export interface CstpClosed {
  /**
   * `server`: DISCONNECT/TERMINATE from the gateway (final, do not reconnect); `dead`: DPD;
   * `transport`: TLS/TCP loss; `protocol`: bad frames; `local`: close() or logout().
   */
  kind: 'server' | 'dead' | 'transport' | 'protocol' | 'local';
  reason: string;
  /**
   * Set on `dead` when the gateway is not to blame: the path moved or the machine slept, so
   * the owner may reconnect at once instead of backing off.
   */
  retryNow?: boolean;
}

/** Counters for status and the benchmark. */
export interface CstpStats {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  dpdSent: number;
  /** DPD-RESP frames received (answers to our DPD-REQ). */
  dpdReplies: number;
  /** DPD-REQ frames from the gateway that we answered. */
  dpdAnswered: number;
}

/** The packet pump of a {@link TlsClient} connection (absent on other sockets, e.g. in tests). */
type Pumped = Pick<TlsClient, 'pumped' | 'pumpFromTun' | 'deliverDataTo' | 'lastReadAt'>;

/** A running CSTP session. */
export class CstpSession extends EventEmitter {
  private readonly own: CstpStats = {
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    dpdSent: 0,
    dpdReplies: 0,
    dpdAnswered: 0,
  };
  private readonly decoder: FrameDecoder;
  private readonly maxPayload: number;
  private readonly writer: FrameWriter;
  private closedWhy: CstpClosed | null = null;
  private lastRx = Date.now();
  private lastDpd = 0;
  private readonly startedAt = Date.now();
  private lastTick = this.startedAt;
  private rekeyAnnounced = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  /** The connection's packet pump, when it has one; its counters as last seen by the timer. */
  private readonly pump: Pumped | null;
  private pumpSeenOut = 0;
  private lastPumpTx = 0;

  constructor(
    private readonly channel: CstpChannel,
    options: { log?: Logger } = {},
  ) {
    super();
    this.log = options.log ?? nullLogger;
    // Received packets may exceed the negotiated MTU a little: allow slack, never 64 KiB.
    this.maxPayload = Math.min(0xffff, Math.max(channel.config.mtu + 256, 2048));
    this.decoder = new FrameDecoder({ maxPayload: this.maxPayload });
    const socket = channel.socket;
    this.pump = typeof (socket as Partial<Pumped>).pumpFromTun === 'function' ? socket : null;
    this.writer = new FrameWriter(
      socket,
      (err) => this.finish({ kind: 'transport', reason: err.message }),
      () => this.emit('drain'),
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // The pump writes to the socket directly: its room coming back is this session's drain too.
    if (this.pump) socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => this.finish({ kind: 'transport', reason: err.message }));
    socket.on('close', () => this.finish({ kind: 'transport', reason: 'connection closed' }));
    const period = livenessPeriodMs(channel.config);
    if (period !== null) {
      this.timer = setInterval(() => this.onTimer(), period);
      this.timer.unref();
    }
    if (channel.initial.length) this.receive(channel.initial);
    // connectCstp leaves the socket paused so frames wait for us; read them from now on.
    socket.resume();
  }

  /** Counters, the packets the pump moved included. */
  get stats(): CstpStats {
    const p = this.pump?.pumped;
    if (!p) return { ...this.own };
    return {
      ...this.own,
      packetsIn: this.own.packetsIn + p.packetsIn,
      packetsOut: this.own.packetsOut + p.packetsOut,
      bytesIn: this.own.bytesIn + p.bytesIn,
      bytesOut: this.own.bytesOut + p.bytesOut,
    };
  }

  /** True when the connection can move packets natively ({@link pumpFromTun}, {@link deliverDataTo}). */
  get canPump(): boolean {
    return this.pump !== null && !this.closedWhy;
  }

  /**
   * Sends the packets waiting on `tunFd` as DATA frames in one native call (see TlsClient);
   * `blocked` means wait for `drain`.
   */
  pumpFromTun(tunFd: number): { packets: number; blocked: boolean; more: boolean; tunErrno?: number } {
    if (!this.pump || this.closedWhy) return { packets: 0, blocked: false, more: false };
    return this.pump.pumpFromTun(tunFd);
  }

  /**
   * DATA frames from the gateway go to `tunFd` natively from now on (null: as `packet` events
   * again); `onTunFull(packet, retry)` gets a packet the TUN refused, and reading stops until
   * `retry`.
   */
  deliverDataTo(
    tunFd: number | null,
    onDelivered?: (packets: number) => void,
    onTunFull?: (packet: Buffer, retry: () => void) => void,
  ): void {
    if (!this.pump || this.closedWhy) return;
    if (tunFd === null) {
      this.pump.deliverDataTo(null);
      return;
    }
    // The native decoder goes on where this one stopped: any partial frame moves over.
    this.pump.deliverDataTo(tunFd, {
      ...(onDelivered ? { onDelivered } : {}),
      ...(onTunFull ? { onTunFull } : {}),
      carry: this.decoder.takePending(),
      maxPayload: this.maxPayload,
    });
  }

  /** Shorthand for `on('packet', cb)`. */
  onPacket(cb: (packet: Buffer) => void): void {
    this.on('packet', cb);
  }

  /** Shorthand for `once('closed', cb)`. */
  onClose(cb: (why: CstpClosed) => void): void {
    this.once('closed', cb);
  }

  /** True while the send queue is above the high-water mark: the packet source should pause. */
  get congested(): boolean {
    return this.writer.pending >= 512;
  }

  /** The TLS version and cipher suite carrying this session (vpncli's Transport Information). */
  get transport(): { protocol: string; cipher: string } {
    const socket = this.channel.socket;
    return { protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.standardName ?? 'unknown' };
  }

  /** The local address of the TCP connection (compared with the route after a network change). */
  get localAddress(): string | undefined {
    return this.channel.socket.localAddress;
  }

  /**
   * Ends the session as dead (the owner reconnects with the cookie): the path it was made on is
   * gone, as a network change showed before any DPD could.
   */
  abandon(reason: string, options: { retryNow?: boolean } = {}): void {
    if (this.closedWhy) return;
    this.emit('dead', reason);
    this.finish({ kind: 'dead', reason, ...(options.retryNow ? { retryNow: true } : {}) });
  }

  /** Whether the session has ended. */
  get isClosed(): boolean {
    return this.closedWhy !== null;
  }

  /** Why the session ended (null while open). */
  get closedReason(): CstpClosed | null {
    return this.closedWhy;
  }

  /** Sends one IP packet as one DATA frame; returns false when the caller should pause. */
  send(packet: Buffer): boolean {
    if (this.closedWhy) return false;
    const frame = Buffer.allocUnsafe(CSTP_HEADER_LEN + packet.length);
    writeHeader(frame, 0, PacketType.DATA, packet.length);
    packet.copy(frame, CSTP_HEADER_LEN);
    this.own.packetsOut++;
    const ok = this.writer.write(frame);
    this.own.bytesOut = this.writer.bytesOut;
    return ok;
  }

  /**
   * Like {@link send} without the copy: `frame` is the packet preceded by
   * {@link CSTP_HEADER_LEN} spare bytes that this method overwrites with the DATA header (a TUN
   * read with headroom provides them). The frame must not be touched afterwards.
   */
  sendFramed(frame: Buffer): boolean {
    if (this.closedWhy) return false;
    writeHeader(frame, 0, PacketType.DATA, frame.length - CSTP_HEADER_LEN);
    this.own.packetsOut++;
    const ok = this.writer.write(frame);
    this.own.bytesOut = this.writer.bytesOut;
    return ok;
  }

  /** Sends a DPD-REQ now (a liveness probe); the answer counts in `stats.dpdReplies`. */
  probe(): void {
    if (this.closedWhy) return;
    this.own.dpdSent++;
    this.lastDpd = Date.now();
    this.writer.write(encodeFrame(PacketType.DPD_REQ));
  }

  /** Ends the session with a logout DISCONNECT (0xb0): the gateway invalidates the cookie. */
  async logout(reason = 'Client logout'): Promise<void> {
    if (this.closedWhy) return;
    this.writer.write(encodeLogout(reason));
    await this.writer.flushed(2000);
    this.finish({ kind: 'local', reason: `logout: ${reason}` });
  }

  /** Ends the session without logout: the cookie stays valid for a reconnect (docs/protocol.md#disconnect-and-logout). */
  close(reason = 'closed by client'): void {
    this.finish({ kind: 'local', reason });
  }

  private receive(chunk: Buffer): void {
    if (this.closedWhy) return;
    this.own.bytesIn += chunk.length;
    this.lastRx = Date.now();
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.finish({ kind: 'protocol', reason: (err as Error).message });
      return;
    }
    for (const f of frames) {
      switch (f.type) {
        case PacketType.DATA:
          this.own.packetsIn++;
          this.emit('packet', f.payload);
          break;
        case PacketType.DPD_REQ:
          this.own.dpdAnswered++;
          this.writer.write(encodeFrame(PacketType.DPD_RESP, Buffer.from(f.payload)));
          break;
        case PacketType.DPD_RESP:
          this.own.dpdReplies++;
          break;
        case PacketType.DISCONNECT:
        case PacketType.TERMINATE: {
          // Payload, when present: reason code byte + text (docs/protocol.md#disconnect-and-logout).
          const text =
            f.payload.length > 1
              ? f.payload
                  .subarray(1)
                  .toString('latin1')
                  .replace(/[^\x20-\x7e]/g, '')
                  .slice(0, 200)
              : '';
          const what = f.type === PacketType.TERMINATE ? 'terminated' : 'disconnected';
          this.finish({ kind: 'server', reason: `gateway ${what} the session${text ? `: ${text}` : ''}` });
          return;
        }
        default:
          // KEEPALIVE (and COMPRESSED, refused by the decoder) only prove liveness.
          break;
      }
    }
  }

  private onTimer(): void {
    const now = Date.now();
    // The pump moves packets without a call per packet: the socket's last read proves the
    // gateway alive (at the time it came, which matters after a pause), its counters our sending.
    const p = this.pump?.pumped;
    if (p) {
      this.lastRx = Math.max(this.lastRx, this.pump!.lastReadAt);
      if (p.packetsOut !== this.pumpSeenOut) this.lastPumpTx = now;
      this.pumpSeenOut = p.packetsOut;
    }
    const due = livenessDue(this.channel.config, {
      now,
      lastRx: this.lastRx,
      lastTx: Math.max(this.writer.lastWriteAt, this.lastPumpTx),
      lastDpd: this.lastDpd,
      startedAt: this.startedAt,
      rekeyAnnounced: this.rekeyAnnounced,
      lastTick: this.lastTick,
    });
    this.lastTick = now;
    if (due.deadSilentMs !== null) {
      const reason =
        due.pausedMs !== undefined
          ? `resumed after ${Math.round(due.pausedMs / 1000)} s asleep or frozen (DPD ${this.channel.config.dpd} s)`
          : `no data from the gateway for ${Math.round(due.deadSilentMs / 1000)} s (DPD ${this.channel.config.dpd} s)`;
      this.abandon(reason, { retryNow: due.pausedMs !== undefined });
      return;
    }
    if (due.probe) this.probe();
    // A keepalive only when nothing is queued: queued data proves liveness soon enough.
    if (due.keepalive && this.writer.idle) this.writer.write(encodeFrame(PacketType.KEEPALIVE));
    // Node cannot renegotiate TLS 1.3 (docs/protocol.md#rekey): every rekey is a "new-tunnel" rekey, which is
    // the owner's job (reconnectCstp with the cookie); the session only says when it is due.
    if (due.rekey) {
      this.rekeyAnnounced = true;
      this.emit('rekey', this.channel.config.rekey!.method);
    }
  }

  private finish(why: CstpClosed): void {
    if (this.closedWhy) return;
    this.closedWhy = why;
    if (this.timer) clearInterval(this.timer);
    this.own.bytesOut = this.writer.bytesOut;
    this.writer.stop();
    this.channel.socket.destroy();
    this.log.info('CSTP session ended', { kind: why.kind, reason: why.reason });
    this.emit('closed', why);
  }
}

/** A typed error for a session that ended, for callers that prefer exceptions. */
export function closedError(why: CstpClosed): TandemError {
  const code =
    why.kind === 'server' || why.kind === 'local'
      ? ErrorCodes.TUNNEL_CLOSED
      : why.kind === 'protocol'
        ? ErrorCodes.PROTOCOL
        : ErrorCodes.GATEWAY_UNREACHABLE;
  return new TandemError(code, why.reason, { details: { kind: why.kind } });
}
