/**
 * The libc calls tests make on socketpairs that stand in for a TUN fd (one read or write is one
 * packet), bound once through koffi.
 */
import { createRequire } from 'node:module';

/** The bound calls; each returns what libc returns (-1 on failure). */
export interface TestLibc {
  socketpair(domain: number, type: number, protocol: number, sv: Int32Array): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  setsockopt(fd: number, level: number, name: number, value: Int32Array, length: number): number;
}

/** socket(2) constants for the pairs. */
export const Sock = { AF_UNIX: 1, DGRAM: 2, SEQPACKET: 5, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;

let bound: TestLibc | undefined;

/** The calls, bound on first use. */
export function testLibc(): TestLibc {
  if (bound) return bound;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const c = koffi.load('libc.so.6');
  const f = <T>(decl: string): T => c.func(decl) as unknown as T;
  bound = {
    socketpair: f('int socketpair(int domain, int type, int protocol, _Out_ int32_t *sv)'),
    read: f('int read(int fd, uint8_t *buf, size_t count)'),
    write: f('int write(int fd, const uint8_t *buf, size_t count)'),
    close: f('int close(int fd)'),
    shutdown: f('int shutdown(int fd, int how)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, const int32_t *val, uint32_t len)'),
  };
  return bound;
}
