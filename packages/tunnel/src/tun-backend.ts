/**
 * The TUN seam: {@link openTunDevice} opens the platform's device once, at start-up, from
 * `process.platform`. Linux's device is imported statically (it is this build's own code); the
 * Windows and macOS modules are reached only through a dynamic `import()`, so a Linux process
 * never loads another platform's code. An unknown platform is an error, never a fallback to Linux.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { TunDevice } from './device.js';
import { LinuxTunDevice } from './tun-linux.js';

/** What every platform's device takes. */
export interface TunOpenOptions {
  /** Bytes reserved before each packet for the consumer's framing header (see TunDevice.headroom). */
  headroom?: number;
}

/**
 * Opens a device by the requested name: Linux takes an exact name or a `%d` pattern; Windows
 * names the Wintun adapter (a pattern gives "Tandem"); macOS takes `utunN` (a pattern: the next free).
 */
export type TunOpener = (name: string | undefined, options: TunOpenOptions) => Promise<TunDevice>;

/** The platforms with a TUN backend. */
export type TunPlatform = 'linux' | 'win32' | 'darwin';

/** Each platform's opener, loaded on demand. Exported so tests can see which module a platform gets. */
export const TUN_BACKENDS: Readonly<Record<TunPlatform, () => Promise<TunOpener>>> = {
  linux: () => Promise.resolve(async (name, options) => LinuxTunDevice.open(name, options)),
  win32: async () => (await import('./tun-windows.js')).openWindowsTun,
  darwin: async () => (await import('./tun-darwin.js')).openDarwinTun,
};

/** True for a platform {@link openTunDevice} has a backend for. */
export function isTunPlatform(platform: string): platform is TunPlatform {
  return Object.hasOwn(TUN_BACKENDS, platform);
}

/**
 * Opens the TUN device of `platform` (default: this process's). Rejects with E_TUN on a platform
 * without a backend, and with the backend's own typed error when opening fails. `backends` is
 * for tests.
 */
export async function openTunDevice(
  name: string | undefined,
  options: TunOpenOptions = {},
  platform: string = process.platform,
  backends: Readonly<Record<TunPlatform, () => Promise<TunOpener>>> = TUN_BACKENDS,
): Promise<TunDevice> {
  if (!isTunPlatform(platform))
    throw new TandemError(
      ErrorCodes.TUN,
      `no TUN device for platform ${platform} (Linux, Windows and macOS have one)`,
      {
        details: { platform },
      },
    );
  const open = await backends[platform]();
  return open(name, options);
}
