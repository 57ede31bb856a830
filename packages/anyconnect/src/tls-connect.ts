/**
 * Opening a TLS connection to the gateway: client certificate (file key or PKCS#11 token via
 * OpenSSL's engine), SNI, `--resolve`, TLS ≥ 1.2, the key-exchange groups offered, and the
 * server check of server-trust.ts done right after the handshake, before the caller can write
 * anything. Every gateway connection (auth and tunnel) is a {@link TlsClient}: OpenSSL's records
 * over memory BIOs on a Node TCP socket, so the tunnel's packet pump can seal a batch of CSTP
 * frames and send it in one write (see @tandem/dtls).
 */
import { createSecureContext } from 'node:tls';
import { TlsClient, type TlsClientIdentity } from '@tandem/dtls';
import { ErrorCodes, TandemError } from '@tandem/common';
import { ipLiteralVersion } from './gateway-url.js';
import { verifyServer, type ServerCertInfo, type ServerTrustPolicy } from './server-trust.js';

/** A client certificate: a PEM key, or a key that stays in its token (the engine form). */
export type TlsClientCredentials = TlsClientIdentity;

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
  socket: TlsClient;
  server: ServerCertInfo;
}

/** Connects, handshakes and validates the gateway; rejects with a typed error otherwise. */
export async function openGatewayConnection(
  target: GatewayTarget,
  creds: TlsClientCredentials | null,
): Promise<GatewayConnection> {
  if (target.trust.strict && !target.ca) {
    throw new TandemError(
      ErrorCodes.SERVER_CERT_UNTRUSTED,
      'strict server trust needs an explicit CA bundle (the system roots are not used)',
    );
  }
  if (target.tlsGroups?.length) {
    const bad = unsupportedTlsGroups(target.tlsGroups);
    if (bad.length) throw new TandemError(ErrorCodes.USAGE, `unsupported TLS groups: ${bad.join(', ')}`);
  }
  const socket = await TlsClient.connect({
    host: target.address ?? target.host,
    port: target.port,
    ...(ipLiteralVersion(target.host) ? {} : { servername: target.host }),
    ...(target.ca ? { ca: target.ca } : {}),
    ...(target.tlsGroups?.length ? { groups: target.tlsGroups.join(':') } : {}),
    identity: creds,
    timeoutMs: target.connectTimeoutMs ?? 15_000,
  });
  try {
    return { socket, server: verifyServer(socket.peer, target.host, target.trust) };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
