/**
 * The libc calls the macOS TUN backend makes (tun-darwin.ts), as an interface the backend
 * receives, and {@link loadUtunApi}, which binds them through koffi on macOS. Unit tests pass a
 * fake that records calls instead; nothing here runs on Linux.
 *
 * A utun interface is a kernel control socket: socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL),
 * the control's id looked up by name with ioctl(CTLIOCGINFO), connect() with a sockaddr_ctl
 * whose unit picks the interface, getsockopt(UTUN_OPT_IFNAME) for the name the kernel gave it.
 * Structs go in and out as byte buffers the backend lays out (both macOS architectures are
 * little-endian).
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The macOS errno values the backend tells apart (sys/errno.h; several differ from Linux). */
export const DarwinErrno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EACCES: 13,
  EBUSY: 16,
  EINVAL: 22,
  EPIPE: 32,
  EAGAIN: 35,
  EMSGSIZE: 40,
  EPROTONOSUPPORT: 43,
  EAFNOSUPPORT: 47,
  ENOBUFS: 55,
  ENOTCONN: 57,
} as const;

/** Constants of sys/socket.h, sys/kern_control.h, sys/sys_domain.h, net/if_utun.h and fcntl.h. */
export const Utun = {
  PF_SYSTEM: 32,
  AF_SYSTEM: 32,
  AF_SYS_CONTROL: 2,
  SOCK_DGRAM: 2,
  SYSPROTO_CONTROL: 2,
  /** `_IOWR('N', 3, struct ctl_info)`: struct ctl_info is 100 bytes. */
  CTLIOCGINFO: 0xc0644e03,
  UTUN_OPT_IFNAME: 2,
  CONTROL_NAME: 'com.apple.net.utun_control',
  /** sizeof(struct ctl_info): u_int32_t ctl_id; char ctl_name[96]. */
  CTL_INFO_SIZE: 100,
  /** sizeof(struct sockaddr_ctl). */
  SOCKADDR_CTL_SIZE: 32,
  IFNAMSIZ: 16,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  FD_CLOEXEC: 1,
  O_NONBLOCK: 4,
  /** Address families in each packet's 4-byte header (network byte order). */
  AF_INET: 2,
  AF_INET6: 30,
} as const;

/** The calls, shaped as in C; each returns -1 on failure and {@link errno} tells why. */
export interface UtunApi {
  socket(domain: number, type: number, protocol: number): number;
  /** ioctl(fd, request, arg) with a struct passed by pointer, filled in place. */
  ioctl(fd: number, request: number, arg: Buffer): number;
  connect(fd: number, address: Buffer, length: number): number;
  /** `length[0]` holds the buffer's size going in and the value's length coming out. */
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: Uint32Array): number;
  /** fcntl(fd, cmd, int arg). */
  fcntl(fd: number, cmd: number, arg: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  close(fd: number): number;
  /** The calling thread's errno right after a failed call. */
  errno(): number;
}

type Fn = (...args: unknown[]) => number;

/** Binds the calls from libSystem through koffi; macOS only. */
export function loadUtunApi(): UtunApi {
  if (process.platform !== 'darwin')
    throw new TandemError(ErrorCodes.TUN, `utun is macOS-only (platform ${process.platform})`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('/usr/lib/libSystem.B.dylib');
  const f = (decl: string) => lib.func(decl) as unknown as Fn;
  const socket = f('int socket(int domain, int type, int protocol)');
  // ioctl and fcntl are variadic: arm64 passes variadic arguments on the stack, so they must be
  // declared as such and each extra argument given with its type.
  const ioctl = f('int ioctl(int fd, unsigned long request, ...)');
  const fcntl = f('int fcntl(int fd, int cmd, ...)');
  const connect = f('int connect(int fd, const uint8_t *address, uint32_t length)');
  const getsockopt = f('int getsockopt(int fd, int level, int name, uint8_t *value, uint32_t *length)');
  // ssize_t as int: a packet is < 64 KiB, and a plain number avoids a BigInt per call.
  const read = f('int read(int fd, uint8_t *buf, size_t count)');
  const write = f('int write(int fd, const uint8_t *buf, size_t count)');
  const close = f('int close(int fd)');
  return {
    socket: (domain, type, protocol) => socket(domain, type, protocol),
    ioctl: (fd, request, arg) => ioctl(fd, request, 'uint8_t *', arg),
    connect: (fd, address, length) => connect(fd, address, length),
    getsockopt: (fd, level, name, value, length) => getsockopt(fd, level, name, value, length),
    fcntl: (fd, cmd, arg) => fcntl(fd, cmd, 'int', arg),
    read: (fd, buf, count) => read(fd, buf, count),
    write: (fd, buf, count) => write(fd, buf, count),
    close: (fd) => close(fd),
    errno: () => koffi.errno(),
  };
}
