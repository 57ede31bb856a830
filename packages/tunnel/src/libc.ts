/**
 * The few libc calls Tandem makes through koffi: `ioctl` (Node has none) and `read` / `write`
 * on the packet fd, plus `malloc_trim` for giving memory back once a tunnel goes quiet. Node's `fs.readSync` turns the EAGAIN that ends every drain pass
 * into a thrown exception (~4 µs each, measured here) and costs ~0.35 µs more per packet than a
 * direct call; on the per-packet path that matters. Bound lazily on first use so importing the
 * package works where koffi is not installed (unit tests without a TUN).
 */
import { createRequire } from 'node:module';

/** errno values the TUN path distinguishes. */
export const Errno = { EINTR: 4, EIO: 5, EAGAIN: 11, EINVAL: 22 } as const;

type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
type Io = (fd: number, buf: Uint8Array, count: number) => number | bigint;

/** The bound calls; `errno()` reads the calling thread's errno right after a failed call. */
export interface Libc {
  ioctl: Ioctl;
  read: (fd: number, buf: Uint8Array, count: number) => number;
  write: (fd: number, buf: Uint8Array, count: number) => number;
  errno: () => number;
  /** glibc's malloc_trim(pad): returns free heap pages to the kernel, also those between used chunks. */
  mallocTrim: (pad: number) => number;
}

let bound: Libc | undefined;

/** Loads koffi and binds the calls (once per process). */
export function libc(): Libc {
  if (bound) return bound;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  // ioctl is variadic in C; koffi needs the variadic declaration to pass the pointer correctly.
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)') as unknown as Ioctl;
  // ssize_t as int: a TUN packet is < 64 KiB, and a plain number avoids BigInt per call.
  const read = lib.func('int read(int fd, uint8_t *buf, size_t count)') as unknown as Io;
  const write = lib.func('int write(int fd, const uint8_t *buf, size_t count)') as unknown as Io;
  const mallocTrim = lib.func('int malloc_trim(size_t pad)') as unknown as (pad: number) => number;
  bound = {
    ioctl,
    read: (fd, buf, count) => Number(read(fd, buf, count)),
    write: (fd, buf, count) => Number(write(fd, buf, count)),
    errno: () => koffi.errno(),
    mallocTrim,
  };
  return bound;
}

/**
 * Hands the C heap's free pages back to the kernel. glibc returns only the top of the heap by
 * itself; the packet buffers a burst of traffic frees leave holes below live chunks that stay
 * resident (measured: ~20 MiB of an idle agent after 20 s of iperf3). Best effort: false where
 * the call is not available (no koffi, or a libc without malloc_trim).
 */
export function trimMalloc(): boolean {
  try {
    libc().mallocTrim(0);
    return true;
  } catch {
    return false;
  }
}
