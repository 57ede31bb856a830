/**
 * @tandem/common — the bottom layer: typed errors with stable codes, the redacting logger, the
 * reconnect backoff policy, and the one strict IPv4/IPv6 address and prefix parser every layer
 * uses. Imports nothing from other Tandem packages.
 */
export * from './errors.js';
export * from './redact.js';
export * from './logger.js';
export * from './backoff.js';
export * from './ip.js';
export * from './tunnel-network.js';
