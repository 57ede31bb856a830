/**
 * @tandem/testkit — fixtures shared by the unit tests of several packages and by the
 * cross-process tests in test/: a PKI generated at test time, prerequisite checks that skip a
 * suite with its reason, and a scripted in-process TLS gateway. A private, test-only package:
 * production code never imports it (a dependency-cruiser rule checks it), so it is not built.
 */
export * from './libc.js';
export * from './pki.js';
export * from './skip.js';
export * from './tls-gateway.js';
export * from './digest-sign.js';
