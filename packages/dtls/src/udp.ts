/**
 * A UDP socket as a plain file descriptor, made through libc. OpenSSL's datagram BIO sends and
 * receives on the fd itself, so a record costs one call from JavaScript (SSL_write or SSL_read)
 * instead of a Node `dgram` send plus a memory-BIO copy each way. Node's own dgram sockets cannot
 * serve here: libuv reads them, and their fd is not exposed.
 *
 * Sockets are non-blocking and close-on-exec (never inherited by vpnc-script or other children).
 */
import { createRequire } from 'node:module';
import { ErrorCodes, formatIpv4, formatIpv6, parseIpv4, parseIpv6, TandemError } from '@tandem/common';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
/** errno EAGAIN / EWOULDBLOCK. */
export const EAGAIN = 11;

interface Calls {
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, addr: Uint8Array, len: number) => number;
  bind: (fd: number, addr: Uint8Array, len: number) => number;
  getsockname: (fd: number, addr: Uint8Array, len: Int32Array) => number;
  setsockopt: (fd: number, level: number, name: number, val: Int32Array, len: number) => number;
  recvfrom: (fd: number, buf: Uint8Array, len: number, flags: number, from: Uint8Array, fromLen: Int32Array) => number;
  sendto: (fd: number, buf: Uint8Array, len: number, flags: number, to: Uint8Array, toLen: number) => number;
  close: (fd: number) => number;
  errno: () => number;
}

let bound: Calls | undefined;

function calls(): Calls {
  if (bound) return bound;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const f = <T>(decl: string): T => lib.func(decl) as unknown as T;
  bound = {
    socket: f('int socket(int domain, int type, int protocol)'),
    connect: f('int connect(int fd, const uint8_t *addr, uint32_t len)'),
    bind: f('int bind(int fd, const uint8_t *addr, uint32_t len)'),
    getsockname: f('int getsockname(int fd, uint8_t *addr, _Inout_ int32_t *len)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, const int32_t *val, uint32_t len)'),
    // ssize_t as int: a datagram is < 64 KiB, and a plain number avoids a BigInt per call.
    recvfrom: f('int recvfrom(int fd, uint8_t *buf, size_t len, int flags, uint8_t *from, _Inout_ int32_t *fromLen)'),
    sendto: f('int sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *to, uint32_t toLen)'),
    close: f('int close(int fd)'),
    errno: () => koffi.errno(),
  };
  return bound;
}

/** An IP address and port, as Node writes them. */
export interface UdpAddress {
  address: string;
  port: number;
}

/** Encodes a socket address (struct sockaddr_in or sockaddr_in6). */
export function sockaddr({ address, port }: UdpAddress): Buffer {
  const v4 = parseIpv4(address);
  const v6 = v4 === null ? parseIpv6(address) : null;
  if ((v4 === null && v6 === null) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TandemError(ErrorCodes.DTLS, `not a UDP address: ${address} port ${port}`);
  }
  const b = Buffer.alloc(v4 !== null ? 16 : 28);
  b.writeUInt16LE(v4 !== null ? AF_INET : AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  if (v4 !== null) b.writeUInt32BE(v4 >>> 0, 4);
  else b.set(v6!, 8);
  return b;
}

/** Decodes a socket address written by the kernel. */
export function parseSockaddr(b: Uint8Array): UdpAddress {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const port = buf.readUInt16BE(2);
  if (buf.readUInt16LE(0) === AF_INET) return { address: formatIpv4(buf.readUInt32BE(4)), port };
  return { address: formatIpv6(buf.subarray(8, 24)), port };
}

function fail(what: string, errno: number): never {
  throw new TandemError(ErrorCodes.DTLS, `UDP ${what} failed (errno ${errno})`, { details: { errno } });
}

/**
 * Opens a non-blocking UDP socket connected to `peer` (so only the peer's datagrams arrive and
 * ICMP errors surface) and returns its fd. The caller owns the fd ({@link closeUdp}).
 */
export function connectUdp(peer: UdpAddress): number {
  const c = calls();
  const addr = sockaddr(peer);
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail('socket', c.errno());
  if (c.connect(fd, addr, addr.length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    fail(`connect to ${peer.address}:${peer.port}`, errno);
  }
  return fd;
}

/** Opens a non-blocking UDP socket bound to `local` (port 0 picks one) for a server. */
export function bindUdp(local: UdpAddress): { fd: number; port: number } {
  const c = calls();
  const addr = sockaddr(local);
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail('socket', c.errno());
  c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, Int32Array.of(1), 4);
  if (c.bind(fd, addr, addr.length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    fail(`bind to ${local.address}:${local.port}`, errno);
  }
  const out = Buffer.alloc(28);
  const len = Int32Array.of(out.length);
  if (c.getsockname(fd, out, len) !== 0) fail('getsockname', c.errno());
  return { fd, port: parseSockaddr(out).port };
}

/** Reads one datagram; null when none is queued (EAGAIN). `from` receives the sender's sockaddr. */
export function recvFrom(fd: number, buf: Uint8Array, from: Buffer): { length: number; fromLen: number } | null {
  const c = calls();
  const fromLen = Int32Array.of(from.length);
  const n = c.recvfrom(fd, buf, buf.length, 0, from, fromLen);
  if (n >= 0) return { length: n, fromLen: fromLen[0] ?? 0 };
  const errno = c.errno();
  if (errno === EAGAIN) return null;
  return fail('recvfrom', errno);
}

/** Sends one datagram to `to` (an encoded sockaddr); false when the socket buffer is full. */
export function sendTo(fd: number, buf: Uint8Array, to: Uint8Array): boolean {
  const c = calls();
  if (c.sendto(fd, buf, buf.length, 0, to, to.length) >= 0) return true;
  const errno = c.errno();
  if (errno === EAGAIN) return false;
  return fail('sendto', errno);
}

/** Closes a socket made here. */
export function closeUdp(fd: number): void {
  calls().close(fd);
}
