/**
 * The client's handshake: the session preset that carries the session id (and, for Cisco's
 * legacy DTLS, the master secret), and SSL_do_handshake driven by fd readiness and OpenSSL's
 * retransmission timer.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { Readiness, type FdWatch } from '@tandem/fdpoll';
import { errorQueue, Ssl, type OpenSsl, type Ptr } from './openssl.js';

/** How the client keys the channel. */
export type DtlsKeying =
  | { kind: 'psk'; key: Uint8Array; sessionId: Uint8Array }
  | { kind: 'resume'; masterSecret: Uint8Array; sessionId: Uint8Array; cipher: Uint8Array };

/** Gives `ssl` a session to "resume": the id the gateway routes by, and the legacy secret. */
export function presetSession(o: OpenSsl, ssl: Ptr, keying: DtlsKeying, fail: (m: string) => never): void {
  const session = o.sessionNew() ?? fail('SSL_SESSION_new failed');
  try {
    // PSK mode: any suite of the offer; the gateway does a full handshake and picks its own.
    const suite = keying.kind === 'resume' ? keying.cipher : Uint8Array.of(0x00, 0xa9);
    const cipher = o.cipherFind(ssl, suite) ?? fail('the gateway chose a DTLS cipher we do not offer');
    const master = keying.kind === 'resume' ? keying.masterSecret : crypto.getRandomValues(new Uint8Array(48));
    if (
      o.sessionSetProtocolVersion(session, Ssl.DTLS1_2_VERSION) !== 1 ||
      o.sessionSetCipher(session, cipher) !== 1 ||
      o.sessionSet1Id(session, keying.sessionId, keying.sessionId.length) !== 1 ||
      o.sessionSet1MasterKey(session, master, master.length) !== 1 ||
      o.setSession(ssl, session) !== 1
    ) {
      fail('cannot preset the DTLS session id');
    }
  } finally {
    o.sessionFree(session);
  }
}

/** Drives SSL_do_handshake from fd readiness and OpenSSL's retransmission timer. */
export function handshake(
  o: OpenSsl,
  ssl: Ptr,
  watch: FdWatch,
  readiness: { onReady: (events: number) => void },
  opts: { handshakeTimeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const tv = Buffer.alloc(16);
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err?: TandemError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', onAbort);
      watch.watch(0);
      if (err) reject(err);
      else resolve();
    };
    const step = (): void => {
      if (done) return;
      const r = o.doHandshake(ssl);
      if (r === 1) return finish();
      const e = o.getError(ssl, r);
      if (e !== Ssl.ERROR_WANT_READ && e !== Ssl.ERROR_WANT_WRITE) {
        const detail = errorQueue(o);
        return finish(
          new TandemError(ErrorCodes.DTLS, `DTLS handshake refused: ${detail || `SSL error ${e}`}`, {
            details: { openssl: detail },
          }),
        );
      }
      clearTimeout(timer);
      // DTLSv1_get_timeout: 1 and a timeval when a retransmission is due.
      if (o.sslCtrl(ssl, Ssl.DTLS_CTRL_GET_TIMEOUT, 0, tv) === 1) {
        const ms = Number(tv.readBigInt64LE(0)) * 1000 + Math.ceil(Number(tv.readBigInt64LE(8)) / 1000);
        timer = setTimeout(() => {
          o.sslCtrl(ssl, Ssl.DTLS_CTRL_HANDLE_TIMEOUT, 0, null);
          step();
        }, ms);
      }
    };
    readiness.onReady = () => step();
    const onAbort = (): void => finish(new TandemError(ErrorCodes.DTLS, 'DTLS handshake aborted'));
    const deadline = setTimeout(
      () => finish(new TandemError(ErrorCodes.DTLS, `no DTLS handshake within ${opts.handshakeTimeoutMs} ms`)),
      opts.handshakeTimeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    watch.watch(Readiness.READABLE);
    step();
  });
}
