/**
 * The one libc call the macOS peer-credential reader makes, as an interface of its own: the
 * reader (peercred-darwin.ts) receives it, tests pass a fake that records calls and answers
 * with the errno values getsockopt(2) documents, and {@link loadDarwinSocketApi} binds the real
 * one from libSystem through koffi — on macOS only.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** What a getsockopt call left behind: 0 or the errno, and the option's length as the kernel set it. */
export interface SockOptResult {
  errno: number;
  length: number;
}

/** libc's socket-option call on macOS. */
export interface DarwinSocketApi {
  /** `getsockopt(fd, level, name, value, &len)` with `len` = `value.length` on entry. */
  getsockopt(fd: number, level: number, name: number, value: Buffer): SockOptResult;
}

/** Where macOS keeps libc. */
const LIBSYSTEM = '/usr/lib/libSystem.B.dylib';

/** Binds getsockopt from libSystem through koffi. Fails (typed) anywhere but macOS. */
export function loadDarwinSocketApi(): DarwinSocketApi {
  if (process.platform !== 'darwin')
    throw new TandemError(ErrorCodes.PERMISSION, `LOCAL_PEERCRED is macOS's; cannot bind it on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  let fn: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  try {
    const lib = koffi.load(LIBSYSTEM);
    fn = lib.func(
      'int getsockopt(int fd, int level, int name, _Inout_ uint8_t *value, _Inout_ uint32_t *len)',
    ) as unknown as typeof fn;
  } catch (err) {
    throw new TandemError(ErrorCodes.PERMISSION, `cannot bind getsockopt from ${LIBSYSTEM}: ${(err as Error).message}`);
  }
  return {
    getsockopt(fd, level, name, value) {
      const len = [value.length];
      const rc = fn(fd, level, name, value, len);
      return { errno: rc === 0 ? 0 : koffi.errno() || -1, length: len[0] ?? 0 };
    },
  };
}
