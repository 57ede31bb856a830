/**
 * @tandem/anyconnect — the AnyConnect protocol, one module per phase.
 */
export * from './framing.js';
