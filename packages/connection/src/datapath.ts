/**
 * TUN ⇄ CSTP. Each packet read from the TUN becomes one CSTP DATA frame (one TLS record: see
 * CstpSession's writer); each DATA frame from the gateway is written to the TUN. Back-pressure
 * both ways: a congested CSTP queue pauses the TUN reader until it drains; a TUN that keeps
 * refusing writes pauses the TLS socket reads. The CSTP session is replaceable, so a cookie
 * reconnect swaps it without touching the TUN, routes or DNS.
 */
import type { CstpSession } from '@tandem/anyconnect';
import type { TunDevice } from '@tandem/tunnel';

/** Counters of the data path (the session and TUN keep their own). */
export interface DataPathStats {
  toGateway: number;
  fromGateway: number;
  /** Packets read from the TUN while no session was attached (during a reconnect). */
  droppedNoSession: number;
  /** Times the TUN reader was paused by a congested CSTP queue. */
  pauses: number;
}

/** Joins a TUN device and the current CSTP session. */
export class DataPath {
  readonly stats: DataPathStats = { toGateway: 0, fromGateway: 0, droppedNoSession: 0, pauses: 0 };
  private session: CstpSession | null = null;
  private started = false;

  constructor(private readonly tun: TunDevice) {}

  /** Attaches (or replaces) the CSTP session and starts the TUN reader on first use. */
  attach(session: CstpSession): void {
    this.session = session;
    session.onPacket((packet) => {
      this.stats.fromGateway++;
      this.tun.write(packet);
    });
    session.on('drain', () => this.tun.resume());
    if (!this.started) {
      this.started = true;
      this.tun.start((packet) => this.fromTun(packet));
    } else {
      this.tun.resume();
    }
  }

  /** Detaches the session (reconnecting): packets from the TUN are dropped and counted meanwhile. */
  detach(): void {
    this.session = null;
  }

  private fromTun(packet: Buffer): void {
    const s = this.session;
    if (!s || s.isClosed) {
      this.stats.droppedNoSession++;
      return;
    }
    this.stats.toGateway++;
    if (!s.send(packet)) {
      this.stats.pauses++;
      this.tun.pause();
    }
  }
}
