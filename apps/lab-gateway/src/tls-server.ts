/**
 * The TLS listener and the per-connection request loop. The server asks every client for a
 * certificate but lets the handshake finish whatever it sends (`rejectUnauthorized: false`),
 * then validates the chain itself: a Cisco gateway answers certificate problems in XML, and
 * our events must say exactly what was wrong. Each connection runs in its own try/catch so
 * nothing a client sends can take the process down.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AggAuth, PeerInfo } from './aggauth.js';
import { TUNNEL_PATH, webvpnCookie, type CstpServer } from './cstp-server.js';
import type { Events } from './events.js';
import { formatResponse, header, HttpError, RequestReader } from './http-server.js';
import { offerAt, type OfferedProfile } from './profiles.js';
import type { SessionStore } from './sessions.js';
import type { TrustStore } from './trust.js';

/** Time allowed for the TLS handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time allowed for one complete request once the previous one was answered. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** What the listener needs. */
export interface TlsServerDeps {
  cert: string;
  key: string;
  trust: TrustStore;
  auth: AggAuth;
  cstp: CstpServer;
  events: Events;
  /** Profiles offered in the manifest, served by GET to a valid session (none by default). */
  profiles?: readonly OfferedProfile[];
  sessions?: SessionStore;
}

/** The client certificate of a connection, validated against the trust store. */
export function peerInfo(socket: TLSSocket, trust: TrustStore): PeerInfo {
  const remote = socket.remoteAddress ?? 'unknown';
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return { remote, cert: null, validation: null };
  // Intermediates the client sent along (Node exposes them through the detailed peer chain).
  const extras: X509Certificate[] = [];
  const seen = new Set<string>([leaf.fingerprint256]);
  let node = socket.getPeerCertificate(true) as { raw?: Buffer; issuerCertificate?: unknown } | undefined;
  for (let i = 0; node && node.raw && i < 8; i++) {
    const c = new X509Certificate(node.raw);
    if (!seen.has(c.fingerprint256)) {
      seen.add(c.fingerprint256);
      extras.push(c);
    }
    const next = node.issuerCertificate as typeof node;
    node = next === node ? undefined : next;
  }
  return { remote, cert: leaf, validation: trust.validate(leaf, extras) };
}

/** Creates the listener; call `listen` on the result. */
export function createGatewayServer(deps: TlsServerDeps): Server {
  const server = createServer({
    cert: deps.cert,
    key: deps.key,
    // Sent as the acceptable-CA list in the CertificateRequest, which tells clients what to present.
    ca: deps.trust.caCertificates.map((c) => c.toString()),
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    minVersion: 'TLSv1.2',
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    serveConnection(socket, deps).catch((err: unknown) => {
      deps.events.error('connection', err);
      socket.destroy();
    });
  });
  server.on('tlsClientError', (err) => deps.events.emit({ event: 'tls-error', message: err.message }));
  return server;
}

async function serveConnection(socket: TLSSocket, deps: TlsServerDeps): Promise<void> {
  socket.on('error', () => {
    // Reset peers are normal; the read loop sees the close and stops.
  });
  const peer = peerInfo(socket, deps.trust);
  const reader = new RequestReader(socket, REQUEST_TIMEOUT_MS);
  for (;;) {
    let req;
    try {
      req = await reader.next();
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      deps.events.emit({ event: 'error', where: 'http', remote: peer.remote, status: err.status, message: err.detail });
      reader.detach();
      socket.end(
        formatResponse(
          err.status,
          err.reason,
          [
            ['Connection', 'close'],
            ['Content-Type', 'text/plain'],
          ],
          `${err.detail}\n`,
        ),
      );
      return;
    }
    if (!req) {
      reader.detach();
      socket.end();
      return;
    }
    if (req.method === 'CONNECT') {
      deps.cstp.accept(socket, req, reader.detach(), peer.remote);
      return;
    }
    let close = /close/i.test(header(req, 'connection') ?? '');
    let out: Buffer;
    if (req.method === 'POST' && req.target.startsWith('/') && !req.target.startsWith(TUNNEL_PATH)) {
      const res = deps.auth.handle(req, peer);
      // After a refused request the peer gets no second chance on the same connection.
      close ||= res.status >= 400;
      out = formatResponse(
        res.status,
        res.reason,
        close ? [...res.headers, ['Connection', 'close']] : res.headers,
        res.body,
      );
    } else if (req.method === 'GET' && deps.profiles && offerAt(deps.profiles, req.target)) {
      out = serveProfile(req.target, header(req, 'cookie'), peer.remote, deps);
    } else if (req.method === 'GET' || req.method === 'HEAD') {
      out = formatResponse(
        404,
        'Not Found',
        [['Content-Type', 'text/plain']],
        req.method === 'HEAD' ? '' : 'Not Found\n',
      );
    } else {
      out = formatResponse(405, 'Method Not Allowed', [['Allow', 'GET, POST, CONNECT']]);
    }
    if (close) {
      reader.detach();
      socket.end(out);
      return;
    }
    socket.write(out);
  }
}

/** A GET of an offered profile: the file to a valid session, 401 to anyone else. */
function serveProfile(target: string, cookieHeader: string | undefined, remote: string, deps: TlsServerDeps): Buffer {
  const offer = offerAt(deps.profiles ?? [], target)!;
  const cookie = webvpnCookie(cookieHeader);
  const session = cookie ? deps.sessions?.get(cookie) : null;
  if (!session) {
    deps.events.emit({ event: 'profile-refused', remote, path: offer.path, reason: 'no valid session cookie' });
    return formatResponse(401, 'Unauthorized', [['Content-Type', 'text/plain']], 'Unauthorized\n');
  }
  deps.events.emit({ event: 'profile-served', remote, path: offer.path, serviceType: offer.serviceType });
  return formatResponse(200, 'OK', [['Content-Type', 'text/xml']], offer.body);
}
