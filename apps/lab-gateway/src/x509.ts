/**
 * The one place that prepares @peculiar/x509 for the gateway: the library needs the
 * reflect-metadata polyfill loaded first and a WebCrypto provider, both process-global.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
