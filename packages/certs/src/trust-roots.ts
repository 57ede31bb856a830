/**
 * The operating system's trust anchors for gateway certificates, chosen once per platform: on
 * Linux nothing (null: OpenSSL's default store or Node's roots, as before), on Windows the ROOT
 * store (trust-roots-windows.ts), on macOS the system roots keychain (trust-roots-darwin.ts).
 * Those two modules are reached only through a dynamic `import()`, so a Linux process never
 * loads them; an unknown platform is an error, never Linux.
 */
import { ErrorCodes, TandemError } from '@tandem/common';

/**
 * The PEM bundle the agent's gateway trust uses when no CA file is configured, or null on Linux
 * (the default roots stay). E_CERT_STORE when the store cannot be read or the platform has none.
 */
export async function systemTrustRoots(platform: string = process.platform): Promise<string | null> {
  switch (platform) {
    case 'linux':
      return null;
    case 'win32':
      return (await import('./trust-roots-windows.js')).windowsTrustRoots();
    case 'darwin':
      return (await import('./trust-roots-darwin.js')).darwinTrustRoots();
    default:
      throw new TandemError(ErrorCodes.CERT_STORE, `no system trust store for platform ${JSON.stringify(platform)}`, {
        details: { platform },
      });
  }
}
