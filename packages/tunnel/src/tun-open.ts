/**
 * Opening a Linux TUN interface: `/dev/net/tun` opened non-blocking (libuv adds O_CLOEXEC
 * atomically, so a forked vpnc-script never inherits the packet fd), then the TUNSETIFF ioctl
 * through koffi because Node has no ioctl. The ifreq layout is `char ifr_name[16]; short flags;`
 * padded to 40 bytes (sizeof(struct ifreq) on 64-bit Linux).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { ErrorCodes, TandemError } from '@tandem/common';
import { loadFdPoll } from '@tandem/fdpoll';
import { libc } from './libc.js';

/** `_IOW('T', 202, int)`. */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

/** An opened TUN file descriptor and the name the kernel gave the interface. */
export interface OpenedTun {
  fd: number;
  name: string;
}

/**
 * Loads koffi, binds the libc calls and loads the readiness addon ahead of {@link openTun}, so
 * the ~8 ms of dlopen can run while the caller waits for the network. Failures are left for
 * opening the device to report with context.
 */
export function preloadTunSupport(): void {
  if (process.platform !== 'linux') return;
  try {
    libc();
    loadFdPoll();
  } catch {
    // LinuxTunDevice.open reports it
  }
}

const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted (needs CAP_NET_ADMIN)',
  16: 'device or resource busy (the interface is in use by another process)',
  22: 'invalid argument (bad interface name, or the name belongs to a non-TUN device)',
};

/**
 * Validates a requested name: an exact name (`tandem0`) or a pattern with one `%d`
 * (`tandem%d`) that the kernel fills in; at most 15 bytes.
 */
export function checkTunName(name: string): string {
  if (Buffer.byteLength(name) >= IFNAMSIZ || !/^[A-Za-z0-9_-]+(%d[A-Za-z0-9_-]*)?$/.test(name)) {
    throw new TandemError(ErrorCodes.TUN, `invalid TUN interface name ${JSON.stringify(name)}`);
  }
  return name;
}

/** Opens a TUN interface (IFF_TUN | IFF_NO_PI, non-blocking) with an exact name or a `%d` pattern. */
export function openTun(name = 'tandem%d'): OpenedTun {
  if (process.platform !== 'linux')
    throw new TandemError(ErrorCodes.TUN, `the /dev/net/tun device is Linux-only (platform ${process.platform})`);
  checkTunName(name);
  let fd: number;
  try {
    fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    throw new TandemError(ErrorCodes.TUN, `cannot open /dev/net/tun: ${(err as Error).message}`, { cause: err });
  }
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, IFNAMSIZ - 1, 'utf8');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, IFNAMSIZ);
  try {
    const { ioctl, errno } = libc();
    if (ioctl(fd, TUNSETIFF, 'uint8_t *', ifr) !== 0) {
      const e = errno();
      throw new TandemError(ErrorCodes.TUN, `TUNSETIFF ${name}: ${ERRNO_TEXT[e] ?? `errno ${e}`}`, {
        details: { errno: e, name },
      });
    }
  } catch (err) {
    closeSync(fd);
    throw err instanceof TandemError
      ? err
      : new TandemError(ErrorCodes.TUN, `TUNSETIFF failed: ${(err as Error).message}`, { cause: err });
  }
  const end = ifr.indexOf(0);
  return { fd, name: ifr.toString('utf8', 0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end) };
}
