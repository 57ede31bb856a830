/**
 * Chooses the certificate stores once per process from the platform: Linux's directories and
 * NSS database (stores.ts), the Windows `MY` stores (source-windows.ts) or the macOS keychains
 * (source-darwin.ts). The Windows and macOS modules are reached only through a dynamic
 * `import()`, so a Linux process never loads their code; an unknown platform is an error, never
 * Linux.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { SelectionInput } from './select.js';
import { linuxDefaultStores, type DefaultStoreOptions, type StoreSet } from './stores.js';

function unknownPlatform(platform: string): TandemError {
  return new TandemError(ErrorCodes.CERT_STORE, `no certificate store for platform ${JSON.stringify(platform)}`, {
    details: { platform },
  });
}

/**
 * The machine and user stores of `platform` (default this process's). The options are Linux's
 * locations and secrets; Windows and macOS have one store of each kind and ignore them.
 */
export async function defaultStores(
  opts: DefaultStoreOptions = {},
  platform: string = process.platform,
): Promise<StoreSet> {
  switch (platform) {
    case 'linux':
      return linuxDefaultStores(opts);
    case 'win32':
      return (await import('./source-windows.js')).windowsDefaultStores();
    case 'darwin':
      return (await import('./source-darwin.js')).darwinDefaultStores();
    default:
      throw unknownPlatform(platform);
  }
}

/**
 * The platform whose profile settings selection applies (`CertificateStore` and
 * `CertificateStoreOverride` on Windows, `CertificateStoreMac` on macOS, `CertificateStoreLinux`
 * on Linux). E_CERT_STORE for any other.
 */
export function selectionPlatform(platform: string = process.platform): SelectionInput['platform'] {
  if (platform === 'linux' || platform === 'win32' || platform === 'darwin') return platform;
  throw unknownPlatform(platform);
}
