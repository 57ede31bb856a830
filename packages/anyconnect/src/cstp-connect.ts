/**
 * Opening the tunnel: `CONNECT /CSCOSSLC/tunnel` with the session cookie on a validated TLS
 * connection — the auth phase's kept-alive one when there is one, else a new one (docs/protocol.md#connect). On `200` the same socket carries CSTP frames, so the HTTP
 * layer stops after the response head and hands the socket (and any bytes already read past
 * the head) to the caller.
 *
 * The request offers DTLS (dtls-offer.ts): a fresh X-DTLS-Master-Secret for the legacy keying,
 * kept with the channel, and both cipher lists. `dtls: false` sends none of it, as openconnect's
 * --no-dtls does. No compression is offered (docs/protocol.md#connect-request).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TlsClient } from '@tandem/dtls';
import { ErrorCodes, TandemError, redactor } from '@tandem/common';
import { USER_AGENT } from './auth-flow.js';
import { DTLS12_CIPHER_SUITES, DTLS_CIPHER_SUITES } from './dtls-offer.js';
import type { GatewayUrl } from './gateway-url.js';
import type { ConnectionCache } from './connection-cache.js';
import { CONNECT_HEAD_LIMITS, exchange, header, type HttpResponse } from './http.js';
import type { ServerCertInfo, ServerTrustPolicy } from './server-trust.js';
import {
  openGatewayConnection,
  type GatewayConnection,
  type TlsClientCredentials,
  type TlsGroups,
} from './tls-connect.js';
import { parseTunnelConfig, type TunnelConfig } from './tunnel-config.js';

/** What every request made with a session cookie needs: where the gateway is and how it is trusted. */
export interface GatewaySessionOptions {
  gateway: GatewayUrl;
  /** Session cookie from the auth phase (secret). */
  cookie: string;
  /** `--resolve` address for the gateway host. */
  address?: string;
  ca?: string | Buffer;
  trust: ServerTrustPolicy;
  /** Presented on every connection too: strict gateways require it (docs/protocol.md#reconnect). */
  machine: TlsClientCredentials | null;
  /** The key-exchange groups the auth phase offered (default: OpenSSL's). */
  tlsGroups?: TlsGroups;
}

/** Everything needed to open (or re-open) a tunnel. */
export interface ConnectOptions extends GatewaySessionOptions {
  /** Sent as X-CSTP-Hostname; defaults to the local host name. */
  localHostname?: string;
  /** Link MTU towards the gateway (X-CSTP-Base-MTU). Default 1500. */
  baseMtu?: number;
  /** Addresses of the previous lease, to ask for the same ones on reconnect. */
  previousAddresses?: string[];
  /** Deadline for TLS + CONNECT response head. Default 30 s. */
  timeoutMs?: number;
  /** The auth phase's kept-alive connection, used for CONNECT when it is still open. */
  connections?: ConnectionCache;
  /** Offer DTLS (default true). */
  dtls?: boolean;
}

/** A tunnel whose CONNECT succeeded: the socket now carries CSTP frames. */
export interface CstpChannel {
  /** Paused after the response head, so no frame is lost before a CstpSession reads it. */
  socket: TlsClient;
  config: TunnelConfig;
  server: ServerCertInfo;
  /** CSTP bytes that arrived together with the response head. */
  initial: Buffer;
  /** The X-DTLS-Master-Secret this CONNECT sent (the legacy DTLS keying); secret. */
  dtlsSecret: Buffer | null;
}

/**
 * The tunnel MTU we ask for, derived like openconnect (docs/protocol.md#connect-request): base MTU minus the worst
 * DTLS overhead (82), UDP (8) and IPv4 (20). ocserv computes its own and answers with it.
 */
export function requestedMtu(baseMtu: number): number {
  return Math.max(576, baseMtu - 82 - 8 - 20);
}

/** Builds the CONNECT request headers. Only `webvpn` goes into the Cookie header (docs/protocol.md#connect-request). */
export function connectHeaders(
  opts: Pick<ConnectOptions, 'gateway' | 'cookie' | 'localHostname' | 'baseMtu' | 'previousAddresses'>,
  dtlsSecret: Buffer | null = null,
): Array<[string, string]> {
  if (!/^[\x21-\x7e]{1,4096}$/.test(opts.cookie) || /[;,\s]/.test(opts.cookie)) {
    throw new TandemError(
      ErrorCodes.COOKIE_REJECTED,
      'the session cookie has characters that cannot go into a Cookie header',
    );
  }
  const base = opts.baseMtu ?? 1500;
  const local = (opts.localHostname ?? hostname()).replace(/[^A-Za-z0-9.-]/g, '').slice(0, 63) || 'localhost';
  const headers: Array<[string, string]> = [
    ['Host', opts.gateway.hostHeader],
    ['User-Agent', USER_AGENT],
    ['Cookie', `webvpn=${opts.cookie}`],
    ['X-CSTP-Version', '1'],
    ['X-CSTP-Hostname', local],
    ['X-CSTP-Base-MTU', String(base)],
    ['X-CSTP-MTU', String(requestedMtu(base))],
    ['X-CSTP-Address-Type', 'IPv6,IPv4'],
    ['X-CSTP-Full-IPv6-Capability', 'true'],
  ];
  for (const a of opts.previousAddresses ?? []) headers.push(['X-CSTP-Address', a]);
  if (dtlsSecret) {
    const secret = dtlsSecret.toString('hex').toUpperCase();
    redactor.addSecret(secret);
    headers.push(
      ['X-DTLS-Master-Secret', secret],
      ['X-DTLS-CipherSuite', DTLS_CIPHER_SUITES],
      ['X-DTLS12-CipherSuite', DTLS12_CIPHER_SUITES],
    );
  }
  return headers;
}

/** Maps a non-200 CONNECT answer to a typed error. */
export function connectRefusal(res: Pick<HttpResponse, 'status' | 'reason' | 'headers'>): TandemError {
  // eslint-disable-next-line no-control-regex -- control characters are what is stripped
  const why = (header(res, 'x-reason') ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
  if (res.status === 401) {
    return new TandemError(
      ErrorCodes.COOKIE_REJECTED,
      `gateway no longer accepts the session cookie (HTTP 401 ${res.reason.slice(0, 80)}); authenticate again`,
      { details: { status: 401 } },
    );
  }
  if (res.status === 503) {
    return new TandemError(
      ErrorCodes.AUTH_REJECTED,
      `gateway refused the tunnel (HTTP 503${why ? `: ${why}` : ', no reason given'})`,
      { details: { status: 503, reason: why } },
    );
  }
  return new TandemError(
    ErrorCodes.PROTOCOL,
    `gateway answered CONNECT with HTTP ${res.status} ${res.reason.slice(0, 80)}`,
    { details: { status: res.status } },
  );
}

/**
 * Sends CONNECT and parses the tunnel configuration: on the auth phase's kept-alive connection
 * when `opts.connections` holds one, else on a new validated TLS connection. Any failure on a
 * re-used connection is retried once on a new one, because some ASAs forget the client
 * certificate on re-used connections (openconnect's `--no-http-keepalive` note); a refusal
 * repeated on the new connection is the gateway's real answer.
 */
export async function connectCstp(opts: ConnectOptions): Promise<CstpChannel> {
  const reused = opts.connections?.take({ host: opts.gateway.host, port: opts.gateway.port, address: opts.address });
  if (reused) {
    try {
      return await connectOn(reused, opts, Date.now());
    } catch {
      // fall through to a new connection
    }
  }
  const started = Date.now();
  const conn = await openGatewayConnection(
    {
      host: opts.gateway.host,
      port: opts.gateway.port,
      address: opts.address,
      ca: opts.ca,
      trust: opts.trust,
      connectTimeoutMs: opts.timeoutMs ?? 30_000,
      tlsGroups: opts.tlsGroups,
    },
    opts.machine,
  );
  return connectOn(conn, opts, started);
}

async function connectOn(conn: GatewayConnection, opts: ConnectOptions, started: number): Promise<CstpChannel> {
  const timeout = opts.timeoutMs ?? 30_000;
  try {
    // A fresh legacy DTLS master secret per CONNECT (never reused across connects).
    const dtlsSecret = opts.dtls === false ? null : randomBytes(48);
    const headers = connectHeaders(opts, dtlsSecret);
    const res = await exchange(
      conn.socket,
      { method: 'CONNECT', path: '/CSCOSSLC/tunnel', headers, headOnly: true, limits: CONNECT_HEAD_LIMITS },
      Math.max(1, timeout - (Date.now() - started)),
    );
    if (res.status !== 200) throw connectRefusal(res);
    const config = parseTunnelConfig(res);
    const keying = config.dtls?.keying;
    if (keying) redactor.addSecret(keying.kind === 'psk' ? keying.appId : keying.sessionId);
    return { socket: conn.socket, config, server: conn.server, initial: res.rest, dtlsSecret };
  } catch (err) {
    conn.socket.destroy();
    throw err;
  }
}
