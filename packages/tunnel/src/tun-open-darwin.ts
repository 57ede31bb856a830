/**
 * Opening a utun interface for the macOS TUN device (tun-darwin.ts): socket(PF_SYSTEM,
 * SOCK_DGRAM, SYSPROTO_CONTROL), made close-on-exec and non-blocking; the utun control's id by
 * name (ioctl CTLIOCGINFO); connect() with a sockaddr_ctl whose unit picks the interface (N + 1
 * for utunN, 0 for the next free); getsockopt(UTUN_OPT_IFNAME) for the name the kernel gave it.
 * Every failed call becomes E_TUN naming the call and the errno.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import { DarwinErrno, Utun, type UtunApi } from './utun-api-darwin.js';

/** A failed libc call as E_TUN, naming the call and the errno (`what` says what it was for). */
export function errnoFailure(call: string, errno: number, what?: string): TandemError {
  const name = Object.entries(DarwinErrno).find(([, n]) => n === errno)?.[0];
  return new TandemError(
    ErrorCodes.TUN,
    `${call} failed: errno ${errno}${name ? ` (${name})` : ''}${what ? `: ${what}` : ''}`,
    { details: { call, errno } },
  );
}

/**
 * The sockaddr_ctl unit for a requested name: `utunN` → N + 1; no name, or a Linux-style `%d`
 * pattern → 0, the next free interface. macOS names utun interfaces itself: anything else is refused.
 */
export function utunUnit(requested: string | undefined): number {
  if (requested === undefined || requested.includes('%')) return 0;
  const m = /^utun(\d{1,5})$/.exec(requested);
  if (!m)
    throw new TandemError(ErrorCodes.TUN, `macOS tunnels are named utunN: cannot open ${JSON.stringify(requested)}`);
  return Number(m[1]) + 1;
}

/** struct sockaddr_ctl { u_char sc_len, sc_family; u_int16_t ss_sysaddr; u_int32_t sc_id, sc_unit, sc_reserved[5]; }. */
export function sockaddrCtl(ctlId: number, unit: number): Buffer {
  const b = Buffer.alloc(Utun.SOCKADDR_CTL_SIZE);
  b.writeUInt8(Utun.SOCKADDR_CTL_SIZE, 0);
  b.writeUInt8(Utun.AF_SYSTEM, 1);
  b.writeUInt16LE(Utun.AF_SYS_CONTROL, 2);
  b.writeUInt32LE(ctlId, 4);
  b.writeUInt32LE(unit, 8);
  return b;
}

/**
 * Opens the control socket (close-on-exec, non-blocking), connects it to `requested` (or the next
 * free utun) and reads the interface's name; the socket is closed again if a step fails.
 */
export function openUtun(api: UtunApi, requested: string | undefined): { fd: number; name: string } {
  const unit = utunUnit(requested);
  const fd = api.socket(Utun.PF_SYSTEM, Utun.SOCK_DGRAM, Utun.SYSPROTO_CONTROL);
  if (fd < 0) throw errnoFailure('socket(PF_SYSTEM)', api.errno(), 'needs root');
  try {
    // Close-on-exec: route and scutil children must not inherit the tunnel.
    if (api.fcntl(fd, Utun.F_SETFD, Utun.FD_CLOEXEC) < 0) throw errnoFailure('fcntl(F_SETFD)', api.errno());
    const flags = api.fcntl(fd, Utun.F_GETFL, 0);
    if (flags < 0) throw errnoFailure('fcntl(F_GETFL)', api.errno());
    if (api.fcntl(fd, Utun.F_SETFL, flags | Utun.O_NONBLOCK) < 0) throw errnoFailure('fcntl(F_SETFL)', api.errno());
    const info = Buffer.alloc(Utun.CTL_INFO_SIZE);
    info.write(Utun.CONTROL_NAME, 4, 'latin1');
    if (api.ioctl(fd, Utun.CTLIOCGINFO, info) !== 0)
      throw errnoFailure('ioctl(CTLIOCGINFO)', api.errno(), Utun.CONTROL_NAME);
    const address = sockaddrCtl(info.readUInt32LE(0), unit);
    if (api.connect(fd, address, address.length) !== 0)
      throw errnoFailure('connect', api.errno(), unit ? `utun${unit - 1}` : 'the next free utun');
    const ifname = Buffer.alloc(Utun.IFNAMSIZ);
    const length = Uint32Array.of(ifname.length);
    if (api.getsockopt(fd, Utun.SYSPROTO_CONTROL, Utun.UTUN_OPT_IFNAME, ifname, length) !== 0)
      throw errnoFailure('getsockopt(UTUN_OPT_IFNAME)', api.errno());
    const raw = ifname.subarray(0, Math.min(length[0]!, ifname.length));
    const end = raw.indexOf(0);
    return { fd, name: raw.toString('latin1', 0, end < 0 ? raw.length : end) };
  } catch (err) {
    api.close(fd);
    throw err;
  }
}
