/**
 * @tandem/anyconnect — the AnyConnect protocol, one module per phase: TLS + gateway trust,
 * HTTP, aggregate-auth XML, the auth flow with MCA, the profile manifest, CSTP CONNECT, the
 * CSTP session and reconnect. `authenticate()` and `openTunnel()` are the facade.
 */
export * from './framing.js';
export * from './server-trust.js';
export * from './tls-connect.js';
export * from './http.js';
export * from './connection-cache.js';
export * from './gateway-url.js';
export * from './config-auth.js';
export * from './cookies.js';
export * from './mca.js';
export * from './auth-flow.js';
export * from './manifest.js';
export * from './tunnel-config.js';
export * from './cstp-connect.js';
export * from './cstp-writer.js';
export * from './cstp-session.js';
export * from './dtls-offer.js';
export * from './dtls-session.js';
export * from './reconnect.js';
export * from './tunnel.js';
