/**
 * TrustedHttpsServerList probe (engine port TrustedServerProbe): a TLS handshake that trusts
 * nothing and returns the leaf certificate's DER, which TND compares by SHA-256 with the
 * profile's CertificateHash. Bounded in time so a black-holed address cannot stall TND; no
 * byte of application data is sent.
 */
import tls from 'node:tls';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { TrustedServerProbe } from '@tandem/engine';

/** Probe with a fixed handshake deadline. */
export class TlsLeafProbe implements TrustedServerProbe {
  constructor(private readonly timeoutMs = 5000) {}

  /** See {@link TrustedServerProbe.leafCertificate}. */
  leafCertificate(address: string, port: number, options: { signal: AbortSignal }): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const fail = (code: TandemError['code'], message: string): void => {
        cleanup();
        reject(new TandemError(code, `${address}:${port}: ${message}`));
      };
      // The hash is the trust decision here, so chain validation is intentionally off.
      const socket = tls.connect({
        host: address,
        port,
        rejectUnauthorized: false,
        ...(/^[\d.]+$|:/.test(address) ? {} : { servername: address }),
      });
      const timer = setTimeout(
        () => fail(ErrorCodes.GATEWAY_TIMEOUT, `no TLS handshake within ${this.timeoutMs} ms`),
        this.timeoutMs,
      );
      const onAbort = (): void => fail(ErrorCodes.GATEWAY_UNREACHABLE, 'probe cancelled');
      const cleanup = (): void => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        socket.destroy();
      };
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('secureConnect', () => {
        const der = socket.getPeerCertificate(false)?.raw;
        cleanup();
        if (!der || der.length === 0)
          reject(new TandemError(ErrorCodes.PROTOCOL, `${address}:${port}: server presented no certificate`));
        else resolve(new Uint8Array(der));
      });
      socket.once('error', (err) => fail(ErrorCodes.GATEWAY_UNREACHABLE, err.message));
    });
  }
}
