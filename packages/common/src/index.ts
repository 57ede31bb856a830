/**
 * @tandem/common — the bottom layer: typed errors with stable codes, the redacting logger,
 * the reconnect backoff policy.
 * Imports nothing from other Tandem packages.
 */
export * from './errors.js';
export * from './redact.js';
export * from './logger.js';
export * from './backoff.js';
