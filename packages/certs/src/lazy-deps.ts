/**
 * node-forge (PKCS#12, ~10 MiB resident) and pkcs11js (the PKCS#11 addon, ~6 MiB) are needed
 * only for a .p12 file or a token, which most machines never have; loaded on first use, so the
 * agent and the CLI do not carry them otherwise. Both are CommonJS, so a synchronous require
 * keeps their callers synchronous.
 */
import { createRequire } from 'node:module';
import type Forge from 'node-forge';
import type Pkcs11js from 'pkcs11js';

const load = createRequire(import.meta.url);
let forge: typeof Forge | undefined;
let pkcs11: typeof Pkcs11js | undefined;

/** node-forge, loaded on the first call. */
export function forgeLib(): typeof Forge {
  return (forge ??= load('node-forge') as typeof Forge);
}

/** pkcs11js, loaded on the first call. */
export function pkcs11Lib(): typeof Pkcs11js {
  return (pkcs11 ??= load('pkcs11js') as typeof Pkcs11js);
}
