/**
 * The DTLS data channel of one CSTP session (docs/protocol.md#dtls): keyed from the CONNECT that
 * carried the session (PSK exported from its TLS connection, or the legacy master secret it
 * sent), framed with a 1-byte packet type per record, with its own DPD and keepalive timers
 * after openconnect (X-DTLS-DPD, X-DTLS-Keepalive). CSTP stays the control channel; this one only
 * carries packets, answers the gateway's DPD and says when it has died.
 *
 * Packets go to the one {@link DtlsSession.onPacket} handler (no event per packet). Events:
 * `dead(reason)` once (DPD silence, a read or write failure, the gateway closing it), `rekey()`
 * when X-DTLS-Rekey-Time has passed. Liveness is judged from the record counters on each timer
 * tick, so no packet pays for reading the clock.
 */
import { EventEmitter } from 'node:events';
import { ErrorCodes, TandemError, nullLogger, type Logger } from '@tandem/common';
import { DtlsClient, preloadDtlsSupport, type DtlsKeying } from '@tandem/dtls';

export { preloadDtlsSupport };
import type { CstpChannel } from './cstp-connect.js';
import { PSK_CIPHERS, type DtlsOffer } from './dtls-offer.js';
import { PacketType } from './framing.js';
import { livenessDue, livenessPeriodMs } from './liveness.js';

/** Bytes in front of an IP packet in a DTLS record: the packet type. */
export const DTLS_HEADER_LEN = 1;

/** openconnect's label for the PSK exported from the CSTP TLS session. */
const PSK_LABEL = 'EXPORTER-openconnect-psk';

/** openconnect gives a DTLS handshake 12 s before going on with CSTP alone. */
export const DTLS_HANDSHAKE_TIMEOUT_MS = 12_000;

/** Counters for statistics and the bundle. */
export interface DtlsStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  dpdSent: number;
  dpdReplies: number;
  dpdAnswered: number;
  /** Records the socket could not take (the sender waits for room). */
  sendBlocked: number;
}

/** A fresh set of {@link DtlsStats}, all zero. */
export function zeroDtlsStats(): DtlsStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dpdSent: 0,
    dpdReplies: 0,
    dpdAnswered: 0,
    sendBlocked: 0,
  };
}

/** What {@link DtlsSession.open} needs. */
export interface DtlsTarget {
  channel: CstpChannel;
  /** The gateway's address, the one the CSTP connection reached (UDP goes to the same host). */
  gatewayIp: string;
  /** The path MTU towards the gateway (default the CONNECT's base MTU, else 1500). */
  linkMtu?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

/** The keying of `offer` for this channel; E_DTLS when the TLS session cannot export a key. */
export function dtlsKeying(offer: DtlsOffer, channel: CstpChannel): DtlsKeying {
  const k = offer.keying;
  if (k.kind === 'resume') {
    if (!channel.dtlsSecret) throw new TandemError(ErrorCodes.DTLS, 'no DTLS master secret was sent with CONNECT');
    return {
      kind: 'resume',
      masterSecret: channel.dtlsSecret,
      sessionId: Buffer.from(k.sessionId, 'hex'),
      cipher: Uint8Array.from(k.suite.id),
    };
  }
  let key: Buffer;
  try {
    // No context at all, as openconnect and ocserv export it: with TLS 1.2 an empty context
    // would give another key. Node's typings make the optional context argument mandatory.
    const exporter = channel.socket.exportKeyingMaterial.bind(channel.socket) as (n: number, label: string) => Buffer;
    key = exporter(32, PSK_LABEL);
  } catch (err) {
    throw new TandemError(
      ErrorCodes.DTLS,
      `cannot export the DTLS key from the TLS session: ${(err as Error).message}`,
    );
  }
  return { kind: 'psk', key, sessionId: Buffer.from(k.appId, 'hex') };
}

/** A DTLS channel that is up. */
export class DtlsSession extends EventEmitter {
  /** What this class counts itself (records through the JavaScript path, DPD). */
  private readonly own: DtlsStats = zeroDtlsStats();
  private lastRx = Date.now();
  private lastTx = Date.now();
  /** Record counters at the last timer tick: a change means traffic since then. */
  private seenRx = 0;
  private seenTx = 0;
  private packetHandler: (packet: Buffer) => void = () => {};
  private lastDpd = 0;
  private readonly startedAt = Date.now();
  private lastTick = this.startedAt;
  private rekeyAnnounced = false;
  private timer: NodeJS.Timeout | null = null;
  private deadReason: string | null = null;

  private constructor(
    private readonly client: DtlsClient,
    private readonly offer: DtlsOffer,
    private readonly log: Logger,
  ) {
    super();
    client.start(
      (record, length) => this.receive(record, length),
      (err) => this.die(err.message),
    );
    const period = livenessPeriodMs(offer);
    if (period !== null) {
      this.timer = setInterval(() => this.onTimer(), period);
      this.timer.unref();
    }
  }

  /** Handshakes with the gateway's offer; rejects with E_DTLS (the tunnel goes on over CSTP). */
  static async open(t: DtlsTarget): Promise<DtlsSession> {
    const offer = t.channel.config.dtls;
    if (!offer) throw new TandemError(ErrorCodes.DTLS, t.channel.config.dtlsNote ?? 'the gateway offered no DTLS');
    const keying = dtlsKeying(offer, t.channel);
    const client = await DtlsClient.connect({
      peer: { address: t.gatewayIp, port: offer.port },
      keying,
      ciphers: keying.kind === 'psk' ? PSK_CIPHERS : offer.keying.kind === 'resume' ? offer.keying.suite.openssl : '',
      linkMtu: t.linkMtu ?? t.channel.config.baseMtu ?? 1500,
      handshakeTimeoutMs: t.timeoutMs ?? DTLS_HANDSHAKE_TIMEOUT_MS,
      ...(t.signal ? { signal: t.signal } : {}),
    });
    if (keying.kind === 'psk') keying.key.fill(0);
    return new DtlsSession(client, offer, t.log ?? nullLogger);
  }

  /** The counters, the natively pumped packets included. */
  get stats(): DtlsStats {
    const c = this.client.stats;
    const o = this.own;
    return {
      ...o,
      packetsIn: o.packetsIn + c.pumpedIn,
      bytesIn: o.bytesIn + c.pumpedBytesIn,
      packetsOut: o.packetsOut + c.pumpedOut,
      bytesOut: o.bytesOut + c.pumpedBytesOut,
      sendBlocked: c.sendBlocked,
    };
  }

  /**
   * Moves the packets waiting on the TUN `tunFd` to the gateway in one native call (see
   * DtlsClient.pumpFromTun); `blocked` means wait for {@link onceWritable}.
   */
  pumpFromTun(tunFd: number): { packets: number; blocked: boolean; more: boolean; tunErrno?: number } {
    return this.client.pumpFromTun(tunFd);
  }

  /**
   * Writes DATA from the gateway straight to the TUN `tunFd` (null: to the {@link onPacket}
   * handler again); `onDelivered` hears the packet count of each batch.
   */
  deliverTo(tunFd: number | null, onDelivered?: (packets: number) => void): void {
    this.client.deliverDataTo(tunFd, onDelivered);
  }

  /** Sets where packets from the gateway go (a view that stays valid). */
  onPacket(handler: (packet: Buffer) => void): void {
    this.packetHandler = handler;
  }

  /** DTLS version and suite (vpncli's Transport Information). */
  get transport(): { protocol: string; cipher: string } {
    return { protocol: this.client.version, cipher: this.client.cipher };
  }

  /** The largest IP packet one record carries on this path. */
  get dataMtu(): number {
    return this.client.dataMtu - DTLS_HEADER_LEN;
  }

  /** Whether the channel has died or been closed. */
  get isClosed(): boolean {
    return this.deadReason !== null || this.client.isClosed;
  }

  /** Calls `listener` once when the socket takes records again; returns a canceller. */
  onceWritable(listener: () => void): () => void {
    return this.client.onceWritable(listener);
  }

  /**
   * Sends one IP packet as a DATA record, for a TUN whose packets come through JavaScript
   * (Wintun, utun: no fd for the pump). False when the socket is full (nothing kept from this
   * packet; wait for {@link onceWritable}) or the channel is closed.
   */
  sendPacket(packet: Uint8Array): boolean {
    if (this.isClosed) return false;
    const record = Buffer.allocUnsafe(DTLS_HEADER_LEN + packet.length);
    record[0] = PacketType.DATA;
    record.set(packet, DTLS_HEADER_LEN);
    if (!this.client.send(record)) return false;
    this.own.packetsOut++;
    this.own.bytesOut += record.length;
    return true;
  }

  /** Sends a DPD-REQ now. */
  probe(): void {
    this.own.dpdSent++;
    this.lastDpd = Date.now();
    this.control(PacketType.DPD_REQ);
  }

  /** Closes the channel; no `dead` event follows. */
  close(): void {
    this.deadReason ??= 'closed';
    this.stop();
  }

  private control(type: number, payload: Uint8Array = new Uint8Array(0)): void {
    const record = Buffer.allocUnsafe(DTLS_HEADER_LEN + payload.length);
    record[0] = type;
    record.set(payload, DTLS_HEADER_LEN);
    this.client.send(record);
  }

  private receive(record: Buffer, length: number): void {
    this.own.bytesIn += length;
    switch (record[0]) {
      case PacketType.DATA:
        this.own.packetsIn++;
        this.packetHandler(record.subarray(DTLS_HEADER_LEN, length));
        break;
      case PacketType.DPD_REQ:
        this.own.dpdAnswered++;
        this.control(PacketType.DPD_RESP, record.subarray(DTLS_HEADER_LEN, length));
        break;
      case PacketType.DPD_RESP:
        this.own.dpdReplies++;
        break;
      default:
        // KEEPALIVE proves liveness; anything else (a DISCONNECT or compressed data we never
        // negotiated) is ignored on this channel, as openconnect does: CSTP carries control.
        break;
    }
  }

  private onTimer(): void {
    const now = Date.now();
    const { received, sent } = this.client.stats;
    if (received !== this.seenRx) this.lastRx = now;
    if (sent !== this.seenTx) this.lastTx = now;
    this.seenRx = received;
    this.seenTx = sent;
    const due = livenessDue(this.offer, {
      now,
      lastRx: this.lastRx,
      lastTx: this.lastTx,
      lastDpd: this.lastDpd,
      startedAt: this.startedAt,
      rekeyAnnounced: this.rekeyAnnounced,
      lastTick: this.lastTick,
    });
    this.lastTick = now;
    if (due.deadSilentMs !== null) {
      this.die(
        `no DTLS record from the gateway for ${Math.round(due.deadSilentMs / 1000)} s (DPD ${this.offer.dpd} s)`,
      );
      return;
    }
    if (due.probe) this.probe();
    if (due.keepalive) this.control(PacketType.KEEPALIVE);
    if (due.rekey) {
      this.rekeyAnnounced = true;
      this.emit('rekey');
    }
  }

  private die(reason: string): void {
    if (this.deadReason !== null) return;
    this.deadReason = reason;
    this.stop();
    this.log.info('DTLS channel down', { reason });
    this.emit('dead', reason);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.client.close();
  }
}
