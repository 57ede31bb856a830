/**
 * Chooses the {@link HostNetwork} backend once, at start-up, from the platform. The Windows and
 * macOS backends are reached only through a dynamic `import()`, so a Linux process never loads
 * their code (nor koffi's Windows bindings); an unknown platform is an error, never Linux.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { HostNetwork } from './host-network.js';
import { linuxHostNetwork } from './host-network-linux.js';

const chosen = new Map<string, Promise<HostNetwork>>();

async function load(platform: string): Promise<HostNetwork> {
  switch (platform) {
    case 'linux':
      return linuxHostNetwork;
    case 'win32':
      return (await import('./host-network-windows.js')).windowsHostNetwork();
    case 'darwin':
      return (await import('./host-network-darwin.js')).darwinHostNetwork();
    default:
      throw new TandemError(
        ErrorCodes.NETCONFIG,
        `no routes-and-DNS backend for platform ${JSON.stringify(platform)}`,
        {
          details: { platform },
        },
      );
  }
}

/**
 * The backend for `platform` (default this process's), made once per platform. Throws
 * E_NETCONFIG for a platform without one.
 */
export function selectHostNetwork(platform: string = process.platform): Promise<HostNetwork> {
  let backend = chosen.get(platform);
  if (!backend) {
    backend = load(platform);
    // A refusal is not cached: the same question gets the same typed answer each time.
    backend.catch(() => chosen.delete(platform));
    chosen.set(platform, backend);
  }
  return backend;
}
