/**
 * The data path on a TUN without a pumpable fd (Wintun, utun: `TunDevice.fd` null): the native
 * pumps are never handed the TUN, and packets go through JavaScript both ways, over CSTP or DTLS
 * (a full UDP socket pauses the TUN until it is writable). Beside it, the same calls with an fd, where the pumps get it. Sessions are stand-ins
 * that record what the data path asks of them.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CstpSession, DtlsSession } from '@tandem/anyconnect';
import { zeroTunStats, type TunDevice } from '@tandem/tunnel';
import { DataPath } from '../src/index.js';

class RecordingTun implements TunDevice {
  readonly name = 'rec0';
  readonly readers: Array<((fd: number) => boolean) | null> = [];
  readonly written: Buffer[] = [];
  onPacket: ((p: Buffer) => void) | null = null;
  constructor(readonly fd: number | null) {}
  setReader(reader: ((fd: number) => boolean) | null): void {
    this.readers.push(reader);
  }
  start(onPacket: (p: Buffer) => void): void {
    this.onPacket = onPacket;
  }
  write(packet: Uint8Array): boolean {
    this.written.push(Buffer.from(packet));
    return true;
  }
  onceWriteDrained(): () => void {
    return () => {};
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
  stats() {
    return zeroTunStats();
  }
}

function fakeCstp() {
  let onPacket: (p: Buffer) => void = () => {};
  const s = {
    canPump: true,
    isClosed: false,
    deliverDataTo: vi.fn(),
    pumpFromTun: vi.fn(() => ({ packets: 0, blocked: false, more: false })),
    send: vi.fn(() => true),
    sendFramed: vi.fn(() => true),
    on: vi.fn(),
    onPacket: (cb: (p: Buffer) => void) => (onPacket = cb),
    fromGateway: (p: Buffer) => onPacket(p),
  };
  return s;
}

function fakeDtls() {
  let onPacket: (p: Buffer) => void = () => {};
  return {
    isClosed: false,
    deliverTo: vi.fn(),
    pumpFromTun: vi.fn(() => ({ packets: 0, blocked: false, more: false })),
    onceWritable: vi.fn((_cb: () => void) => () => {}),
    sendPacket: vi.fn((_p: Uint8Array) => true),
    onPacket: (cb: (p: Buffer) => void) => (onPacket = cb),
    fromGateway: (p: Buffer) => onPacket(p),
  };
}

const asCstp = (s: ReturnType<typeof fakeCstp>) => s as unknown as CstpSession;
const asDtls = (d: ReturnType<typeof fakeDtls>) => d as unknown as DtlsSession;

describe('DataPath and the TUN fd', () => {
  it('fd null: no native pump gets the TUN; packets go out and come in over CSTP, then DTLS', () => {
    const tun = new RecordingTun(null);
    const cstp = fakeCstp();
    const dp = new DataPath(tun);
    dp.attach(asCstp(cstp));
    expect(cstp.deliverDataTo).not.toHaveBeenCalled();
    expect(tun.readers).toEqual([null]);
    tun.onPacket!(Buffer.from([0x45, 1]));
    expect(cstp.send).toHaveBeenCalledTimes(1);
    cstp.fromGateway(Buffer.from([0x45, 2]));

    const dtls = fakeDtls();
    dp.useDtls(asDtls(dtls));
    expect(dtls.deliverTo).not.toHaveBeenCalled();
    expect(tun.readers).toEqual([null, null]);
    dtls.fromGateway(Buffer.from([0x45, 3]));
    tun.onPacket!(Buffer.from([0x45, 4]));
    expect(cstp.send).toHaveBeenCalledTimes(1);
    expect(dtls.sendPacket.mock.calls.map(([p]) => p[1])).toEqual([4]);
    expect(tun.written.map((p) => p[1])).toEqual([2, 3]);
    expect(dp.stats).toMatchObject({ toGateway: 2, toGatewayDtls: 1, fromGateway: 2, fromGatewayDtls: 1 });
  });

  it('fd null: a full UDP socket pauses the TUN until DTLS is writable; DTLS gone, CSTP again', () => {
    const tun = new RecordingTun(null);
    const paused: string[] = [];
    tun.pause = () => void paused.push('pause');
    tun.resume = () => void paused.push('resume');
    const cstp = fakeCstp();
    const dp = new DataPath(tun);
    dp.attach(asCstp(cstp));
    const dtls = fakeDtls();
    dtls.sendPacket.mockReturnValueOnce(false);
    dp.useDtls(asDtls(dtls));
    paused.length = 0;
    tun.onPacket!(Buffer.from([0x45, 5]));
    expect(paused).toEqual(['pause']);
    expect(dp.stats.pauses).toBe(1);
    dtls.onceWritable.mock.calls[0]![0]();
    expect(paused).toEqual(['pause', 'resume']);
    dp.useDtls(null);
    tun.onPacket!(Buffer.from([0x45, 6]));
    expect(cstp.send).toHaveBeenCalledTimes(1);
  });

  it('with an fd: the CSTP and DTLS pumps are handed it', () => {
    const tun = new RecordingTun(7);
    const cstp = fakeCstp();
    const dp = new DataPath(tun);
    dp.attach(asCstp(cstp));
    expect(cstp.deliverDataTo.mock.calls[0]?.[0]).toBe(7);
    expect(typeof tun.readers[0]).toBe('function');
    const dtls = fakeDtls();
    dp.useDtls(asDtls(dtls));
    expect(dtls.deliverTo.mock.calls[0]?.[0]).toBe(7);
    tun.readers.at(-1)!(7);
    expect(dtls.pumpFromTun).toHaveBeenCalledWith(7);
  });
});
