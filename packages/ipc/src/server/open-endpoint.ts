/**
 * Where the agent listens and how it learns who connected, chosen once per platform: a Unix
 * socket with `SO_PEERCRED` on Linux, a Unix socket with `LOCAL_PEERCRED` on macOS, a named pipe
 * with the client's token on Windows. The Linux endpoint is this build's own code; the macOS
 * and Windows modules are reached only through a dynamic `import()`, so a Linux agent never
 * loads them. Any other platform is refused: without a way to identify callers the agent does
 * not listen at all (never a fallback that would admit everyone).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { Endpoint, EndpointOptions } from './endpoint.js';
import { readLinuxPeerCredentials } from './peercred-linux.js';
import { assertUnixSocketPath } from './socket-path.js';
import { UnixEndpoint } from './unix-endpoint.js';

/** The platforms with an endpoint. */
export type EndpointPlatform = 'linux' | 'darwin' | 'win32';

/** Each platform's endpoint, loaded on demand. Exported so tests can see which module a platform gets. */
export const ENDPOINTS: Readonly<Record<EndpointPlatform, (options: EndpointOptions) => Promise<Endpoint>>> = {
  linux: (o) => Promise.resolve(new UnixEndpoint(o, o.readCredentials ?? readLinuxPeerCredentials)),
  darwin: async (o) => {
    if (o.readCredentials) return new UnixEndpoint(o, o.readCredentials);
    const [{ darwinCredentialReader }, { loadDarwinSocketApi }] = await Promise.all([
      import('./peercred-darwin.js'),
      import('./libc-api-darwin.js'),
    ]);
    // Bound now, so a missing libSystem stops the start rather than refusing every caller later.
    return new UnixEndpoint(o, darwinCredentialReader(loadDarwinSocketApi()));
  },
  win32: async (o) => {
    const [{ PipeEndpoint }, { loadPipeApi }] = await Promise.all([
      import('./pipe-endpoint-windows.js'),
      import('./pipe-api-windows.js'),
    ]);
    return new PipeEndpoint(o, loadPipeApi());
  },
};

/** True for a platform with an endpoint. */
export function isEndpointPlatform(platform: string): platform is EndpointPlatform {
  return Object.hasOwn(ENDPOINTS, platform);
}

function unsupported(platform: string): TandemError {
  return new TandemError(
    ErrorCodes.PERMISSION,
    `cannot identify local callers on platform ${platform} (Linux, macOS and Windows are supported); not listening`,
    { details: { platform } },
  );
}

/** Longest Unix socket path: sun_path holds 108 bytes on Linux and 104 on macOS, with the terminator. */
const SUN_PATH_MAX: Record<string, number> = { linux: 107, darwin: 103 };

/**
 * Throws (typed) unless `address` is what `platform` listens on: a pipe name on Windows, an
 * absolute Unix socket path that fits sockaddr_un elsewhere. Synchronous, so a bad address is
 * refused when the server is created.
 */
export function assertEndpointAddress(address: unknown, platform: string): asserts address is string {
  if (platform === 'win32') {
    if (typeof address !== 'string' || !/^\\\\\.\\pipe\\[A-Za-z0-9._-]{1,200}$/.test(address))
      throw new TandemError(ErrorCodes.USAGE, `not a local pipe name (\\\\.\\pipe\\NAME): ${String(address)}`);
    return;
  }
  assertUnixSocketPath(address, SUN_PATH_MAX[platform] ?? 103);
}

/** Opens the endpoint of `platform` (default: this process's); `endpoints` is for tests. */
export async function openEndpoint(
  options: EndpointOptions,
  platform: string = process.platform,
  endpoints: Readonly<Record<EndpointPlatform, (options: EndpointOptions) => Promise<Endpoint>>> = ENDPOINTS,
): Promise<Endpoint> {
  if (!isEndpointPlatform(platform)) throw unsupported(platform);
  assertEndpointAddress(options.address, platform);
  return endpoints[platform](options);
}
