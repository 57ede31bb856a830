/**
 * Gateway certificate validation, decided before a single request byte is written.
 *
 * OpenSSL (through Node) does the RFC 5280 path validation against the configured CAs; on top
 * of it we check what openconnect does not (docs/protocol.md#gateway-trust): the serverAuth EKU, the key usage,
 * the host name, and SPKI pins. Every failure is an `E_SERVER_CERT_UNTRUSTED` error whose
 * message says what was wrong and always carries the server's `pin-sha256:` (like openconnect's
 * "--servercert" hint) so an administrator can pin after checking it out of band.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TlsPeer } from '@tandem/dtls';
import { ErrorCodes, TandemError } from '@tandem/common';
import { ipLiteralVersion } from './gateway-url.js';
import { serverKeyUsage } from './key-usage.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_ANY = '2.5.29.37.0';

/** How strictly the gateway certificate is checked. */
export interface ServerTrustPolicy {
  /**
   * Accepted SPKI pins, `pin-sha256:<base64>`. Outside strict mode a matching pin accepts a
   * chain OpenSSL could not verify (openconnect's `--servercert`); in strict mode it never does.
   */
  pins?: readonly string[];
  /**
   * Strict mode (machine tunnel, Always-On, StrictCertificateTrust): chain validation must pass
   * and, when pins are given, a pin must match too. Nothing can override a failure.
   */
  strict?: boolean;
  /**
   * Told what every handshake saw and decided, trusted or not (the diagnostic bundle's
   * "last gateway chain"). Public data only; a throwing observer is ignored.
   */
  observe?: (seen: ServerObservation) => void;
}

/** What one handshake showed of the gateway, and the decision taken on it. */
export interface ServerObservation {
  host: string;
  /** DER of the chain, leaf first: what the gateway sent and the root that completed the path, if any. */
  chainDer: Buffer[];
  /** OpenSSL's path validation against the configured CAs. */
  chainValid: boolean;
  chainError?: string;
  info: ServerCertInfo | null;
  pinsConfigured: number;
  pinMatched: boolean;
  strict: boolean;
  /** `trusted`, or the refusal's message. */
  verdict: string;
}

/** What was learned about the gateway certificate. */
export interface ServerCertInfo {
  /** SHA-256 of the DER leaf certificate, lower-case hex. */
  sha256: string;
  /** SHA-1 of the DER leaf, upper-case hex (what ASA and ocserv report as server-cert-hash). */
  sha1: string;
  /** `pin-sha256:<base64 of SHA-256 of the SubjectPublicKeyInfo>`. */
  pin: string;
  subject: string;
  issuer: string;
  validTo: string;
}

/** Computes the openconnect-style SPKI pin of a certificate. */
export function spkiPin(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `pin-sha256:${createHash('sha256').update(spki).digest('base64')}`;
}

/** Describes the leaf certificate for logs, JSON output and pin hints. */
export function describeServerCert(cert: X509Certificate): ServerCertInfo {
  return {
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    sha1: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    pin: spkiPin(cert),
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    validTo: cert.validTo,
  };
}

const OPENSSL_REASONS: Record<string, (c: X509Certificate) => string> = {
  CERT_HAS_EXPIRED: (c) => `server certificate expired on ${new Date(c.validTo).toISOString().slice(0, 10)}`,
  CERT_NOT_YET_VALID: (c) =>
    `server certificate is not valid before ${new Date(c.validFrom).toISOString().slice(0, 10)}`,
  DEPTH_ZERO_SELF_SIGNED_CERT: () => 'server certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: () => 'server chain ends in a self-signed root that is not in the trust store',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: (c) =>
    `untrusted: issuer "${c.issuer.replace(/\n/g, ', ')}" is not in the trust store`,
  UNABLE_TO_GET_ISSUER_CERT: (c) => `untrusted: issuer "${c.issuer.replace(/\n/g, ', ')}" is not in the trust store`,
  // OpenSSL's code when the leaf's issuer is neither sent nor in the store.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: (c) =>
    `untrusted: issuer "${c.issuer.replace(/\n/g, ', ')}" is not in the trust store`,
  CERT_SIGNATURE_FAILURE: () => 'server certificate signature is invalid',
  CERT_REVOKED: () => 'server certificate is revoked',
  INVALID_CA: () => 'an issuing certificate in the server chain is not a CA',
  PATH_LENGTH_EXCEEDED: () => 'server chain exceeds a CA path length constraint',
  INVALID_PURPOSE: () => 'server chain has a certificate not valid for this purpose',
};

function fail(message: string, info: ServerCertInfo | null): TandemError {
  const hint = info ? ` (server's ${info.pin})` : '';
  return new TandemError(ErrorCodes.SERVER_CERT_UNTRUSTED, `${message}${hint}`, { details: info ? { ...info } : {} });
}

function purposeProblem(cert: X509Certificate): string | null {
  // Node names the EKU list `keyUsage` (OIDs); undefined means no EKU extension.
  const eku = cert.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(EKU_SERVER_AUTH) && !eku.includes(EKU_ANY)) {
    return 'server certificate lacks the serverAuth extended key usage';
  }
  // A TLS server key signs (ECDHE) or decrypts (RSA key transport): one of the two bits must be set.
  const ku = serverKeyUsage(Buffer.from(cert.raw));
  if (ku === 'unreadable') return 'server certificate has an unreadable key usage extension';
  if (ku && !ku.digitalSignature && !ku.keyEncipherment) {
    return 'server certificate key usage allows neither digitalSignature nor keyEncipherment';
  }
  return null;
}

/**
 * Validates the peer of a freshly made TLS connection (OpenSSL's chain validation was recorded,
 * not enforced, so the decision is ours). Throws a typed error and never returns for an
 * untrusted gateway.
 */
export function verifyServer(peer: TlsPeer, host: string, policy: ServerTrustPolicy): ServerCertInfo {
  if (!policy.observe) return decide(peer, host, policy);
  let verdict = 'trusted';
  try {
    return decide(peer, host, policy);
  } catch (err) {
    verdict = (err as Error).message;
    throw err;
  } finally {
    try {
      policy.observe(observation(peer, host, policy, verdict));
    } catch {
      // Observing is for diagnostics; it never changes the decision.
    }
  }
}

/** What the observer is told: the chain as sent and the decision. */
function observation(peer: TlsPeer, host: string, policy: ServerTrustPolicy, verdict: string): ServerObservation {
  const leaf = peer.chainDer[0];
  const info = leaf ? describeServerCert(new X509Certificate(leaf)) : null;
  const pins = policy.pins ?? [];
  return {
    host,
    chainDer: peer.chainDer,
    chainValid: peer.authorized,
    ...(peer.authorized ? {} : { chainError: peer.authorizationError ?? 'UNKNOWN' }),
    info,
    pinsConfigured: pins.length,
    pinMatched: info !== null && pins.some((p) => p.trim() === info.pin),
    strict: policy.strict === true,
    verdict,
  };
}

function decide(tls: TlsPeer, host: string, policy: ServerTrustPolicy): ServerCertInfo {
  const leafDer = tls.chainDer[0];
  if (!leafDer) throw fail('the gateway presented no certificate', null);
  const peer = new X509Certificate(leafDer);
  const info = describeServerCert(peer);
  const pinned = (policy.pins ?? []).some((p) => p.trim() === info.pin);
  const pinsGiven = (policy.pins ?? []).length > 0;

  if (pinsGiven && !pinned) throw fail(`pin mismatch: got ${info.pin}`, info);

  if (!tls.authorized) {
    const code = tls.authorizationError ?? 'UNKNOWN';
    // OpenSSL's purpose failure is vague; say which extension is wrong when it is the leaf's.
    const why =
      (code === 'INVALID_PURPOSE' ? purposeProblem(peer) : null) ??
      OPENSSL_REASONS[code]?.(peer) ??
      `server certificate not trusted (${code})`;
    // openconnect semantics outside strict mode: an explicit pin stands in for the chain.
    if (!(pinned && !policy.strict)) throw fail(why, info);
  }

  const purpose = purposeProblem(peer);
  if (purpose) throw fail(purpose, info);

  if (!pinned || policy.strict) {
    // OpenSSL's X509_check_host/ip: SAN first, CN only without DNS SANs, wildcard only as a
    // whole left-most label.
    const ok = ipLiteralVersion(host)
      ? peer.checkIP(host) !== undefined
      : peer.checkHost(host, { subject: 'default', partialWildcards: false, multiLabelWildcards: false }) !== undefined;
    if (!ok) {
      const san = peer.subjectAltName ?? 'none';
      throw fail(`host name ${host} does not match the certificate (SAN: ${san})`, info);
    }
  }
  return info;
}
