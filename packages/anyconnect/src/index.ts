/**
 * @tandem/anyconnect — the AnyConnect protocol, one module per phase: TLS + gateway trust,
 * HTTP, aggregate-auth XML, the auth flow with MCA, CSTP CONNECT and the CSTP session.
 */
export * from './framing.js';
export * from './server-trust.js';
export * from './tls-connect.js';
export * from './http.js';
export * from './gateway-url.js';
export * from './config-auth.js';
export * from './cookies.js';
export * from './mca.js';
export * from './auth-flow.js';
