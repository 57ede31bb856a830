/**
 * The one place that prepares @peculiar/x509: it needs the reflect-metadata polyfill loaded
 * before it and a WebCrypto provider, and both are process-global, so every module of this
 * package imports the library through here instead of directly.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
