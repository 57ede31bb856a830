/**
 * What a TlsClient's server showed and how OpenSSL judged it, read once after the handshake. The
 * verdict is recorded, never enforced here: @tandem/anyconnect's trust check decides.
 */
import { X509Certificate } from 'node:crypto';
import { drainBio, Ssl, type OpenSsl, type Ptr } from './openssl.js';
import { verifyErrorCode } from './verify-codes.js';

/** What the server showed: its chain as sent, leaf first, and OpenSSL's validation of it. */
export interface TlsPeer {
  chainDer: Buffer[];
  authorized: boolean;
  /** OpenSSL's verify error as Node names it (e.g. `CERT_HAS_EXPIRED`); absent when authorized. */
  authorizationError?: string;
}

/**
 * The server's chain, leaf first — as validated (the root that completed the path included) when
 * OpenSSL accepted it, else as sent — and OpenSSL's verdict on it.
 */
export function readPeer(o: OpenSsl, ssl: Ptr): TlsPeer {
  const result = o.verifyResult(ssl);
  const sent = chainOf(o, o.peerCertChain(ssl));
  const verified = result === Ssl.X509_V_OK ? chainOf(o, o.verifiedChain(ssl)) : [];
  const chainDer = verified.length > 0 ? verified : sent;
  const authorized = result === Ssl.X509_V_OK && chainDer.length > 0;
  return {
    chainDer,
    authorized,
    ...(authorized ? {} : { authorizationError: chainDer.length ? verifyErrorCode(result) : 'NO_PEER_CERTIFICATE' }),
  };
}

/** DER of the certificates of a STACK_OF(X509), at most 16. */
function chainOf(o: OpenSsl, stack: Ptr | null): Buffer[] {
  const out: Buffer[] = [];
  const n = stack ? Math.min(o.stackNum(stack), 16) : 0;
  for (let i = 0; i < n; i++) {
    const x = o.stackValue(stack!, i);
    const bio = x ? o.bioNewMem() : null;
    if (!x || !bio) continue;
    if (o.pemWriteX509(bio, x) === 1) {
      const pem = drainBio(o, bio);
      if (pem) out.push(Buffer.from(new X509Certificate(pem).raw));
    }
    o.bioFree(bio);
  }
  return out;
}
