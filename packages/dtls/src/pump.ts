/**
 * The per-packet loops between a TUN fd and an established DTLS channel, in C
 * (native/pump.c, built by `npm ci` through binding.gyp): one call per readiness event moves a
 * batch of packets, instead of two koffi calls and a view per packet. Measured with perf on a
 * 1 Gbit/s tunnel, that per-packet glue was 16-20 % of the process's CPU. Packets to the
 * gateway are sealed into a datagram memory BIO and leave together in one sendmmsg(2), runs of
 * one size as UDP GSO messages.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import { openssl } from './openssl.js';

/** What a pump call stopped on (out[0]). */
export const PumpStatus = {
  DRAINED: 0,
  BUDGET: 1,
  HELD: 2,
  SSL_ERROR: 3,
  TUN_ERROR: 4,
  CONTROL: 5,
  CLOSED: 6,
  TUN_FULL: 7,
  BAD_FRAME: 8,
} as const;

interface Addon {
  tunToDtlsBatch(
    tunFd: number,
    ssl: bigint,
    udpFd: number,
    memBio: bigint,
    buf: Buffer,
    budget: number,
    gso: boolean,
    out: Int32Array,
  ): void;
  tunToTls(tunFd: number, ssl: bigint, wbio: bigint, buf: Buffer, budget: number, out: Int32Array): void;
  tlsToTun(
    ssl: bigint,
    rbio: bigint,
    chunk: Buffer,
    tunFd: number,
    plain: Buffer,
    state: Int32Array,
    out: Int32Array,
  ): void;
  flushBatch(udpFd: number, buf: Buffer, records: number, first: number, gso: boolean, out: Int32Array): void;
  dtlsToTunBatch(
    ssl: bigint,
    udpFd: number,
    memBio: bigint,
    tunFd: number,
    buf: Buffer,
    budget: number,
    out: Int32Array,
  ): void;
}

/** Packets per batch at most (native/pump.c BATCH_MAX). */
export const BATCH_MAX = 64;
/** The send batch's buffer: a scratch area for one packet, then the sealed records back to back. */
export const BATCH_BUFFER = 2 * (16 * 1024 + 64) + 256 + BATCH_MAX * 1664;
/** The receive batch's buffer: one opened record, then a 4 KiB slot per datagram. */
export const RX_BATCH_BUFFER = 16 * 1024 + 64 + BATCH_MAX * 4096;

let addon: Addon | undefined;

/** Loads the addon once per process; E_DTLS with what to do when it is missing. */
export function pumpAddon(): Addon {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)('@tandem/dtls/addon') as Addon;
  } catch (err) {
    throw new TandemError(
      ErrorCodes.DTLS,
      `the DTLS packet pump addon (@tandem/dtls, build/Release/pump.node) did not load: ${(err as Error).message}. ` +
        '`npm ci` builds it with node-gyp, which needs a C compiler, make and the Node headers.',
      { cause: err },
    );
  }
  return addon;
}

/**
 * Binds OpenSSL and loads the pump ahead of the first handshake (~8 ms of main-thread work),
 * e.g. while a CONNECT is in flight. Errors are left for the handshake to report.
 */
export function preloadDtlsSupport(): void {
  try {
    openssl();
    pumpAddon();
  } catch {
    // DtlsClient.connect reports it
  }
}

/** One pump call's outcome, read from the shared result array. */
export interface PumpResult {
  status: number;
  packets: number;
  bytes: number;
  /** errno (1000 + errno for the UDP socket) or SSL error for errors; drops when receiving. */
  detail: number;
  /** Bytes of the control record (CONTROL) in the buffer. */
  length: number;
}

/** Reads the result array a pump call filled. */
export function pumpResult(out: Int32Array): PumpResult {
  return { status: out[0]!, packets: out[1]!, bytes: out[2]!, detail: out[3]!, length: out[4]! };
}

/** A batch's send state (out[5..7]): sealed records in the buffer, the first not sent, GSO refused. */
export function batchState(out: Int32Array): { records: number; first: number; gsoRefused: boolean } {
  return { records: out[5]!, first: out[6]!, gsoRefused: out[7] === 1 };
}
