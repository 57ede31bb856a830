/**
 * The Windows trust anchors for gateway certificates: the certificates of the `ROOT` system
 * store, read with win-ca (its crypt32 addon; its `roots.exe` fallback where the addon has no
 * build, e.g. arm64). Only `win-ca/api` is loaded: the package's main module would inject the
 * roots into Node's global agent, which the agent must not do.
 *
 * [unverified] Windows fetches some roots from Windows Update only when a chain needs them; a
 * root not yet fetched is not in the store, so it is not trusted here until it is.
 */
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The part of win-ca's API used here (`require('win-ca/api')`). */
export interface WinCaApi {
  (params: { store: string[]; format: number; ondata: (der: Buffer) => void; fallback?: boolean }): void;
  der2: { der: number };
}

/** Where win-ca has a native addon build; elsewhere it runs its fallback executable. */
const ADDON_ARCHES = new Set(['x64', 'ia32']);

/**
 * The `ROOT` store as one PEM bundle. E_CERT_STORE when it cannot be read or holds no
 * certificate (trusting nothing would fail every gateway less clearly).
 */
export function windowsTrustRoots(
  winCa: () => WinCaApi = () => createRequire(import.meta.url)('win-ca/api') as WinCaApi,
  arch: string = process.arch,
): string {
  const pems: string[] = [];
  let skipped = 0;
  try {
    const api = winCa();
    api({
      store: ['root'],
      format: api.der2.der,
      ...(ADDON_ARCHES.has(arch) ? {} : { fallback: true }),
      ondata: (der) => {
        try {
          pems.push(new X509Certificate(der).toString());
        } catch {
          skipped++;
        }
      },
    });
  } catch (err) {
    throw new TandemError(ErrorCodes.CERT_STORE, `cannot read the Windows ROOT store: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (pems.length === 0)
    throw new TandemError(
      ErrorCodes.CERT_STORE,
      `the Windows ROOT store gave no usable certificate (${skipped} unreadable)`,
    );
  return pems.join('');
}
