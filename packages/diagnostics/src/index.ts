/**
 * @tandem/diagnostics — the diagnostic bundle's format: a streamed ZIP with manifest.json,
 * README.txt and the collectors' files, redaction of everything that enters it, and support's
 * reader. The bundle is assembled on the user's side (the CLI or the tray, as the user); the
 * agent contributes the files only root may read. Neutral: it imports @tandem/common only.
 * See docs/diagnostics.md.
 */
export * from './manifest.js';
export * from './redact.js';
export * from './tokens.js';
export { isPublicAddress, type KnownValues } from './pii.js';
export * from './collection.js';
export * from './writer.js';
export * from './inspect.js';
export * from './map.js';
export * from './client-bundle.js';
