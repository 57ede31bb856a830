/**
 * The TLS handshake of a {@link TlsClient}: the TCP connection (started first, so loading koffi
 * and making the SSL object overlap it), OpenSSL's handshake over memory BIOs, and the server's
 * chain as OpenSSL judged it. A signer of an external key that failed is reported as the cause.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';
import { drainBio, errorQueue, Ssl, type Ptr } from './openssl.js';
import { readPeer, type TlsPeer } from './tls-peer.js';
import type { ExternalKey } from './external-key.js';
import { prepareSsl, type PreparedSsl, type TlsClientOptions } from './tls-setup.js';

/** What a finished handshake hands the client: the socket (paused), the SSL and its BIOs. */
export interface Handshaken {
  socket: Socket;
  ssl: Ptr;
  rbio: Ptr;
  wbio: Ptr;
  peer: TlsPeer;
  /** The socket's read callback target: the client points it at itself. */
  reads: { handler: (chunk: Buffer) => void };
  external: ExternalKey | null;
}

/**
 * Connects, handshakes and reads the server's chain; rejects with a typed error. `readSize` is
 * the socket's read buffer, kept for the connection's life.
 */
export function handshake(opts: TlsClientOptions, readSize: number): Promise<Handshaken> {
  const reads = { handler: (_chunk: Buffer): void => {} };
  const readBuffer = Buffer.allocUnsafe(readSize);
  // The TCP handshake goes first: loading koffi and making the SSL object (~15 ms the first
  // time in a process) happen while it is in flight.
  const socket = netConnect({
    host: opts.host,
    port: opts.port,
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback: (n) => {
        reads.handler(readBuffer.subarray(0, n));
        return true;
      },
    },
  });
  let made: PreparedSsl;
  try {
    made = prepareSsl(opts);
  } catch (err) {
    socket.destroy();
    return Promise.reject(err as Error);
  }
  const { o, ssl, rbio, wbio, external } = made;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reads.handler = () => {};
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        o.sslFree(ssl);
        external?.release();
        o.errClear();
        reject(err);
        return;
      }
      socket.pause();
      resolve({ socket, ssl, rbio, wbio, peer: readPeer(o, ssl), reads, external });
    };
    const timer = setTimeout(
      () => finish(new TandemError(ErrorCodes.GATEWAY_TIMEOUT, `TLS handshake with ${opts.host} timed out`)),
      opts.timeoutMs,
    );
    const flush = (): void => {
      const out = drainBio(o, wbio);
      if (out) socket.write(out);
    };
    const step = (): void => {
      const r = o.doHandshake(ssl);
      flush();
      if (r === 1) return finish(null);
      const e = o.getError(ssl, r);
      if (e === Ssl.ERROR_WANT_READ || e === Ssl.ERROR_WANT_WRITE) return;
      // A signer that failed is the reason, not OpenSSL's "sign failed" that follows from it.
      const signing = external?.failure();
      if (signing) o.errClear();
      finish(signing ?? new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, `TLS handshake failed: ${errorQueue(o) || e}`));
    };
    const onData = (chunk: Buffer): void => {
      o.bioWrite(rbio, chunk, chunk.length);
      step();
    };
    const onError = (err: Error): void =>
      finish(
        new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, `cannot reach ${opts.host}:${opts.port}: ${err.message}`, {
          cause: err,
        }),
      );
    const onClose = (): void =>
      finish(new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, 'the gateway closed the connection during TLS'));
    reads.handler = onData;
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', step);
  });
}
