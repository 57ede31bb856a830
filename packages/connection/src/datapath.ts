/**
 * TUN ⇄ CSTP. Each packet read from the TUN becomes one CSTP DATA frame in one TLS record; each
 * DATA frame from the gateway is written to the TUN. The session is replaceable, so a cookie
 * reconnect swaps it without touching the TUN, routes or DNS.
 *
 * On a gateway connection (a TlsClient) the session's native pump carries the packets: the TUN
 * reader seals a batch of DATA frames, one record each, into one socket write, and received
 * chunks are opened in C with DATA going straight to the TUN (see @tandem/dtls). Packets go
 * through JavaScript one by one (fromTun / fromGateway, the session's FrameWriter) only on a
 * socket without a pump, which only tests make, and on a TUN without a pumpable fd (Windows, macOS:
 * `TunDevice.fd` is null), where DTLS sends each packet from JavaScript too.
 *
 * Back-pressure both ways: a full socket (or a congested CSTP queue) pauses the TUN reader until
 * the session says `drain`; a TUN whose write queue overflows (the kernel answered EAGAIN until the device's queue
 * filled) pauses reading from the TLS socket, so TCP flow control slows the gateway down instead
 * of us dropping packets, and reading resumes when the TUN says its queue has been written out
 * (`onceWriteDrained`: the device watches for "writable", so a paused socket costs no timer).
 *
 * While a DTLS channel is up ({@link DataPath.useDtls}) the DTLS packet pump reads the TUN
 * (TunDevice.setReader) and writes what the gateway sends, so packets to the gateway go over
 * DTLS and nothing but control goes over CSTP: ocserv takes DATA on CSTP as the client falling back. A
 * full UDP socket pauses the TUN until the socket is writable again; packets from the gateway
 * arrive on either channel and all go to the TUN (a full TUN drops UDP ones: pausing a UDP
 * socket only moves the drop into the kernel).
 */
import { CSTP_HEADER_LEN, type CstpSession, type DtlsSession } from '@tandem/anyconnect';
import type { TunDevice } from '@tandem/tunnel';

/** Counters of the data path (the session and TUN keep their own). */
export interface DataPathStats {
  toGateway: number;
  fromGateway: number;
  /** Packets read from the TUN while no session was attached (during a reconnect). */
  droppedNoSession: number;
  /** Times the TUN reader was paused by a congested CSTP queue. */
  pauses: number;
  /** Times reading from the gateway was paused because the TUN's write queue was full. */
  socketPauses: number;
  /** Packets from the gateway the TUN refused (its queue was full). */
  droppedTunFull: number;
  /** Of `toGateway` / `fromGateway`: the packets that went over DTLS. */
  toGatewayDtls: number;
  fromGatewayDtls: number;
}

/** The part of the TLS socket the data path pauses when the TUN cannot keep up. */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

/** Joins a TUN device and the current CSTP session. */
export class DataPath {
  readonly stats: DataPathStats = {
    toGateway: 0,
    fromGateway: 0,
    droppedNoSession: 0,
    pauses: 0,
    socketPauses: 0,
    droppedTunFull: 0,
    toGatewayDtls: 0,
    fromGatewayDtls: 0,
  };
  private session: CstpSession | null = null;
  private dtls: DtlsSession | null = null;
  /** Set while the TUN is paused for a full UDP socket: cancels that wait. */
  private cancelDtlsWait: (() => void) | null = null;
  private source: PausableSource | null = null;
  private started = false;
  /** Set while the socket is paused for a full TUN: cancels the wait for the TUN queue to drain. */
  private cancelDrainWait: (() => void) | null = null;

  /** `onTunError` hears of a TUN read failure (the device has stopped reading). */
  constructor(
    private readonly tun: TunDevice,
    private readonly onTunError: (err: Error) => void = () => {},
  ) {}

  /**
   * Attaches (or replaces) the CSTP session and starts the TUN reader on first use. `source` is
   * the session's TLS socket, paused while the TUN is full (optional: without it, packets the
   * TUN refuses are dropped and counted).
   */
  attach(session: CstpSession, source?: PausableSource): void {
    this.session = session;
    this.source = source ?? null;
    this.stopDrainWait();
    session.onPacket((packet) => this.fromGateway(session, packet));
    session.on('drain', () => {
      if (this.session === session) this.tun.resume();
    });
    const tunFd = this.tun.fd;
    if (session.canPump && tunFd !== null) {
      // DATA frames are opened and written to the TUN natively; a packet the TUN refuses comes
      // back to be queued, and the socket is not read until the TUN's queue is written out.
      session.deliverDataTo(
        tunFd,
        (packets) => {
          this.stats.fromGateway += packets;
        },
        (packet, retry) => {
          if (this.session !== session) return;
          this.stats.socketPauses++;
          if (!this.tun.write(packet)) this.stats.droppedTunFull++;
          this.stopDrainWait();
          this.cancelDrainWait = this.tun.onceWriteDrained(() => {
            this.cancelDrainWait = null;
            retry();
          });
        },
      );
    }
    if (!this.dtls) this.tun.setReader(this.cstpReader());
    if (!this.started) {
      this.started = true;
      this.tun.start(
        (packet) => this.fromTun(packet),
        (err) => this.onTunError(err),
      );
    } else {
      this.tun.resume();
    }
  }

  /**
   * Carries packets over `dtls` from now on (null: back to CSTP, e.g. when DTLS died). The TUN
   * resumes if it was waiting for the old channel.
   */
  useDtls(dtls: DtlsSession | null): void {
    if (this.dtls === dtls) return;
    this.cancelDtlsWait?.();
    this.cancelDtlsWait = null;
    const previous = this.dtls;
    this.dtls = dtls;
    if (previous && !previous.isClosed) previous.deliverTo(null);
    const tunFd = this.tun.fd;
    if (dtls) {
      dtls.onPacket((packet) => this.fromDtls(dtls, packet));
      // The native pump moves packets TUN ⇄ DTLS without a JavaScript call per packet; while it
      // reads the TUN, fromTun (the CSTP path) gets nothing. A TUN without a pumpable fd (Wintun,
      // utun) hears DTLS through onPacket and sends through fromTun's DTLS branch.
      if (tunFd !== null) {
        dtls.deliverTo(tunFd, (packets) => {
          this.stats.fromGateway += packets;
          this.stats.fromGatewayDtls += packets;
        });
        this.tun.setReader((fd) => this.pumpToGateway(dtls, fd));
      } else {
        this.tun.setReader(null);
      }
    } else {
      this.tun.setReader(this.cstpReader());
    }
    if (this.started) this.tun.resume();
  }

  /**
   * The TUN's reader on CSTP: the session's native pump (a batch of frames, one record each, in
   * one socket write) when its connection has one, else null (packets come to fromTun).
   */
  private cstpReader(): ((tunFd: number) => boolean) | null {
    const s = this.session;
    if (!s?.canPump || this.tun.fd === null) return null;
    return (tunFd) => {
      if (this.session !== s || s.isClosed) {
        this.stats.droppedNoSession++;
        return false;
      }
      const r = s.pumpFromTun(tunFd);
      this.stats.toGateway += r.packets;
      if (r.tunErrno !== undefined) {
        this.onTunError(new Error(`TUN read failed: errno ${r.tunErrno}`));
        return false;
      }
      if (r.blocked) {
        // The session says `drain` when the socket has room again (attach resumes the TUN).
        this.stats.pauses++;
        return false;
      }
      return true;
    };
  }

  /** The TUN's reader while DTLS is up: false pauses the TUN (socket full, or DTLS gone). */
  private pumpToGateway(dtls: DtlsSession, tunFd: number): boolean {
    if (this.dtls !== dtls) return true;
    const r = dtls.pumpFromTun(tunFd);
    this.stats.toGateway += r.packets;
    this.stats.toGatewayDtls += r.packets;
    if (r.tunErrno !== undefined) {
      this.onTunError(new Error(`TUN read failed: errno ${r.tunErrno}`));
      return false;
    }
    if (r.blocked && this.dtls === dtls) {
      this.stats.pauses++;
      this.cancelDtlsWait ??= dtls.onceWritable(() => {
        this.cancelDtlsWait = null;
        this.tun.resume();
      });
      return false;
    }
    return true;
  }

  /** Detaches the session (reconnecting, closing): TUN packets are dropped and counted meanwhile. */
  detach(): void {
    this.session = null;
    this.source = null;
    this.stopDrainWait();
    this.useDtls(null);
  }

  private fromDtls(dtls: DtlsSession, packet: Buffer): void {
    if (this.dtls !== dtls) return;
    this.stats.fromGateway++;
    this.stats.fromGatewayDtls++;
    if (!this.tun.write(packet)) this.stats.droppedTunFull++;
  }

  private fromGateway(session: CstpSession, packet: Buffer): void {
    if (this.session !== session) return;
    this.stats.fromGateway++;
    if (this.tun.write(packet)) return;
    this.stats.droppedTunFull++;
    const source = this.source;
    if (source && !this.cancelDrainWait) {
      this.stats.socketPauses++;
      source.pause();
      this.cancelDrainWait = this.tun.onceWriteDrained(() => {
        this.cancelDrainWait = null;
        source.resume();
      });
    }
  }

  private fromTun(packet: Buffer): void {
    const dtls = this.dtls;
    // With an fd the DTLS pump reads the TUN itself; only an fd-less TUN brings packets here.
    if (dtls !== null && !dtls.isClosed && this.tun.fd === null) {
      if (dtls.sendPacket(packet)) {
        this.stats.toGateway++;
        this.stats.toGatewayDtls++;
      } else {
        this.stats.pauses++;
        this.tun.pause();
        this.cancelDtlsWait?.();
        this.cancelDtlsWait = dtls.onceWritable(() => {
          this.cancelDtlsWait = null;
          if (this.dtls === dtls) this.tun.resume();
        });
      }
      return;
    }
    const s = this.session;
    if (!s || s.isClosed) {
      this.stats.droppedNoSession++;
      return;
    }
    this.stats.toGateway++;
    // With headroom the CSTP header goes into the bytes in front of the packet: no copy.
    const sent =
      (this.tun.headroom ?? 0) >= CSTP_HEADER_LEN
        ? s.sendFramed(Buffer.from(packet.buffer, packet.byteOffset - CSTP_HEADER_LEN, packet.length + CSTP_HEADER_LEN))
        : s.send(packet);
    if (!sent) {
      this.stats.pauses++;
      this.tun.pause();
    }
  }

  private stopDrainWait(): void {
    this.cancelDrainWait?.();
    this.cancelDrainWait = null;
  }
}
