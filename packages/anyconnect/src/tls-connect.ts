/**
 * Opening a TLS connection to the gateway: client certificate (file key or PKCS#11 token via
 * OpenSSL's engine), SNI, `--resolve`, TLS ≥ 1.2, the key-exchange groups offered, and the
 * server check of server-trust.ts done on `secureConnect`, before the caller can write anything.
 */
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ErrorCodes, TandemError } from '@tandem/common';
import { ipLiteralVersion } from './gateway-url.js';
import { verifyServer, type ServerCertInfo, type ServerTrustPolicy } from './server-trust.js';

/** A client certificate as Node's TLS needs it. Keys stay in their token with the engine form. */
export type TlsClientCredentials =
  | { cert: string | Buffer; key: string | Buffer; passphrase?: string }
  | { cert: string | Buffer; privateKeyEngine: string; privateKeyIdentifier: string };

/** Where and how to reach the gateway. */
export interface GatewayTarget {
  /** Host name from the URL: used for SNI and the certificate name check. */
  host: string;
  port: number;
  /** `--resolve`: connect to this IP while validating for `host`. */
  address?: string;
  /** PEM CA bundle; when absent Node's bundled roots are used (never in strict mode). */
  ca?: string | Buffer;
  trust: ServerTrustPolicy;
  /** Handshake deadline. */
  connectTimeoutMs?: number;
  tlsGroups?: TlsGroups;
}

/**
 * TLS key-exchange groups to offer, most preferred first, by OpenSSL name (`X25519`, `P-256`,
 * `X25519MLKEM768`, …). Absent: OpenSSL's default, which on Node 24 (OpenSSL 3.5) leads with the
 * post-quantum hybrid X25519MLKEM768 and sends an X25519 share beside it. A classic-only list
 * such as `['X25519', 'P-256']` keeps the ClientHello small for old gateways that mishandle it.
 */
export type TlsGroups = readonly string[];

/** The names in `groups` this OpenSSL cannot offer (unknown, or not a single group name). */
export function unsupportedTlsGroups(groups: TlsGroups): string[] {
  return groups.filter((g) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(g)) return true;
    try {
      createSecureContext({ ecdhCurve: g });
      return false;
    } catch {
      return true;
    }
  });
}

/** A validated TLS connection. */
export interface GatewayConnection {
  socket: TLSSocket;
  server: ServerCertInfo;
}

/** Connects, handshakes and validates the gateway; rejects with a typed error otherwise. */
export function openGatewayConnection(
  target: GatewayTarget,
  creds: TlsClientCredentials | null,
): Promise<GatewayConnection> {
  if (target.trust.strict && !target.ca) {
    return Promise.reject(
      new TandemError(
        ErrorCodes.SERVER_CERT_UNTRUSTED,
        'strict server trust needs an explicit CA bundle (the system roots are not used)',
      ),
    );
  }
  const options: ConnectionOptions = {
    host: target.address ?? target.host,
    port: target.port,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: false,
    // The decision is made in verifyServer; Node's own identity check would throw first.
    checkServerIdentity: () => undefined,
    ALPNProtocols: ['http/1.1'],
  };
  if (!ipLiteralVersion(target.host)) options.servername = target.host;
  if (target.ca) options.ca = target.ca;
  if (target.tlsGroups?.length) options.ecdhCurve = target.tlsGroups.join(':');
  if (creds) Object.assign(options, creds);
  return new Promise((resolve, reject) => {
    let socket: TLSSocket;
    try {
      socket = tlsConnect(options);
      // Small request/response exchanges: never let Nagle hold a segment back waiting for an ACK.
      socket.setNoDelay(true);
    } catch (err) {
      const badGroups = unsupportedTlsGroups(target.tlsGroups ?? []);
      if (badGroups.length)
        reject(new TandemError(ErrorCodes.USAGE, `unsupported TLS groups: ${badGroups.join(', ')}`, { cause: err }));
      else
        reject(
          new TandemError(ErrorCodes.CERT_KEY, `cannot use the client certificate: ${(err as Error).message}`, {
            cause: err,
          }),
        );
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TandemError(ErrorCodes.GATEWAY_TIMEOUT, `TLS handshake with ${target.host}:${target.port} timed out`));
    }, target.connectTimeoutMs ?? 15_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      try {
        const server = verifyServer(socket, target.host, target.trust);
        resolve({ socket, server });
      } catch (err) {
        socket.destroy();
        reject(err as Error);
      }
    });
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, `cannot reach ${target.host}:${target.port}: ${err.message}`, {
          cause: err,
          details: { code: err.code },
        }),
      );
    });
  });
}
