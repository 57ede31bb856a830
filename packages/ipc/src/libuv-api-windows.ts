/**
 * node.exe's own libuv, as both ends of the agent's named pipe need it: a pipe HANDLE opened
 * through Win32 (the agent's instances, a client's CreateFileW) becomes a descriptor of Node's C
 * runtime, which `new net.Socket({ fd })` adopts — from then on libuv reads and writes it on its
 * I/O completion port and closes it. Shared by the server (server/pipe-api-windows.ts) and the
 * client (client/pipe-client-api-windows.ts), which may not import each other.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** A Win32 HANDLE as an integer. */
export type Win32Handle = number;
/** A call's value, or the Win32 error it failed with. */
export type Win32<T> = { ok: true; value: T } | { ok: false; error: number };

/** The libuv export the pipe's ends call. */
export interface LibuvApi {
  /**
   * `uv_open_osfhandle`: a C runtime descriptor for `handle` in Node's own runtime; -1 as the
   * error when it refuses (the C runtime sets no Win32 error to read).
   */
  adoptHandle(handle: Win32Handle): Win32<number>;
}

let loaded: LibuvApi | undefined;

/** Binds the running executable's `uv_open_osfhandle` through koffi, once per process; fails (typed) off Windows. */
export function loadLibuvApi(): LibuvApi {
  loaded ??= bind();
  return loaded;
}

function bind(): LibuvApi {
  if (process.platform !== 'win32')
    throw new TandemError(
      ErrorCodes.PERMISSION,
      `node's pipe descriptors are Windows'; cannot bind them on ${process.platform}`,
    );
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  // No name is the running executable (GetModuleHandle(NULL)): node.exe exports libuv for addons.
  const openOsfHandle = koffi.load(null).func('int uv_open_osfhandle(intptr_t handle)') as unknown as (
    h: Win32Handle,
  ) => number;
  return {
    adoptHandle(handle) {
      const fd = openOsfHandle(handle);
      return fd < 0 ? { ok: false, error: -1 } : { ok: true, value: fd };
    },
  };
}
