/**
 * @tandem/dtls — DTLS 1.2 for the AnyConnect data channel, with OpenSSL (Node's own, through
 * koffi) doing the handshake and every record's cryptography: a client over a connected UDP
 * socket, and a server endpoint for the lab gateway; and the TLS client of every gateway
 * connection, whose client key may sign outside OpenSSL (external-key.ts).
 */
export { DtlsClient, type DtlsClientOptions, type DtlsKeying, type RecordHandler } from './client.js';
export { parseClientHello, type ClientHelloInfo } from './client-hello.js';
export { PSK_IDENTITY } from './psk.js';
export { preloadDtlsSupport } from './pump.js';
export {
  DEFAULT_SERVER_CIPHERS,
  DtlsServer,
  DtlsServerPeer,
  type DtlsServerOptions,
  type DtlsServerSession,
  type DtlsServerStats,
  type DtlsSessionLookup,
} from './server.js';
export {
  TlsClient,
  type ExternalKeySigner,
  type ExternalPadding,
  type ExternalSignHash,
  type TlsClientIdentity,
  type TlsClientOptions,
  type TlsPeer,
} from './tls-client.js';
export { type UdpAddress } from './udp.js';
