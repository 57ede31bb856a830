/**
 * The TUN seam's choice of backend: each platform gets its own module's opener, an unknown
 * platform a typed error (never Linux's). Nothing is opened: the openers are stand-ins, and the
 * real Windows and macOS loaders are only imported (which must do nothing on Linux).
 */
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { TunDevice } from '../src/device.js';
import { openTunDevice, TUN_BACKENDS, type TunOpener, type TunPlatform } from '../src/tun-backend.js';
import { openDarwinTun } from '../src/tun-darwin.js';
import { openWindowsTun } from '../src/tun-windows.js';

/** A loader map whose openers record which platform opened, with what. */
function recordingBackends() {
  const opened: Array<{ platform: TunPlatform; name: string | undefined; headroom: number | undefined }> = [];
  const loaded: TunPlatform[] = [];
  const make = (platform: TunPlatform) => (): Promise<TunOpener> => {
    loaded.push(platform);
    return Promise.resolve((name, options) => {
      opened.push({ platform, name, headroom: options.headroom });
      return Promise.resolve({ name: `${platform}-dev` } as unknown as TunDevice);
    });
  };
  const backends = { linux: make('linux'), win32: make('win32'), darwin: make('darwin') };
  return { backends, opened, loaded };
}

describe('openTunDevice', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    it(`on ${platform} loads and opens only the ${platform} backend, passing name and headroom through`, async () => {
      const r = recordingBackends();
      const dev = await openTunDevice('tandem%d', { headroom: 8 }, platform, r.backends);
      expect(dev.name).toBe(`${platform}-dev`);
      expect(r.loaded).toEqual([platform]);
      expect(r.opened).toEqual([{ platform, name: 'tandem%d', headroom: 8 }]);
    });
  }

  for (const platform of ['freebsd', 'aix', 'android', 'toString', '']) {
    it(`on ${JSON.stringify(platform)} rejects with E_TUN and loads nothing`, async () => {
      const r = recordingBackends();
      const err = await openTunDevice('tandem%d', {}, platform, r.backends).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TandemError);
      expect((err as TandemError).code).toBe(ErrorCodes.TUN);
      expect((err as TandemError).message).toContain(`platform ${platform}`);
      expect(r.loaded).toEqual([]);
    });
  }

  it('defaults to this process: on this Linux host it reaches the Linux loader', async () => {
    const r = recordingBackends();
    await openTunDevice(undefined, {}, undefined, r.backends);
    expect(r.loaded).toEqual([process.platform]);
  });

  it('the real loaders give each platform its own module: Wintun on win32, utun on darwin', async () => {
    expect(await TUN_BACKENDS.win32()).toBe(openWindowsTun);
    expect(await TUN_BACKENDS.darwin()).toBe(openDarwinTun);
    const linux = await TUN_BACKENDS.linux();
    expect(linux).not.toBe(openWindowsTun);
    expect(linux).not.toBe(openDarwinTun);
  });

  it.skipIf(process.platform !== 'linux')(
    'the Windows and macOS openers refuse to run on Linux with E_TUN (their OS API does not load here)',
    async () => {
      const watch = vi.fn();
      const errors = await Promise.all([
        openWindowsTun('tandem%d').catch((e: unknown) => e),
        openDarwinTun('tandem%d', { watch: () => ({ watch, close: watch }) }).catch((e: unknown) => e),
      ]);
      for (const err of errors) {
        expect((err as TandemError).code).toBe(ErrorCodes.TUN);
        expect((err as TandemError).message).toMatch(/only \(platform linux\)/);
      }
      expect(watch).not.toHaveBeenCalled();
    },
  );
});
