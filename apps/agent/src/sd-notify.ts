/**
 * systemd's service notification protocol (sd_notify(3)): one datagram of `KEY=value` lines on
 * the AF_UNIX socket named by `$NOTIFY_SOCKET`. The unit is `Type=notify`, so systemd holds
 * `After=tandemd.service` units until `READY=1` arrives; `STATUS=` is the line
 * `systemctl status` shows, `STOPPING=1` says a stop has begun.
 *
 * Node has no AF_UNIX datagram sockets, so the datagram is sent through koffi with libc's
 * socket(2)/sendto(2)/close(2). libsystemd's sd_notify() is deliberately not used: it would
 * load libsystemd (and the compression and crypto libraries it links) into the root agent for
 * what is one sendto, it is missing from minimal images, and the protocol is stable and small
 * (a path or an `@abstract` name; newer systemd's `vsock:` addresses are not needed for a
 * local service manager and are reported as unsupported). The socket is non-blocking: a
 * service manager that does not read must never stall the agent's event loop.
 *
 * Nothing here throws into the agent: without `$NOTIFY_SOCKET` every call is a no-op, and a
 * failure (bad address, koffi or libc missing, send refused) is logged once, then the notifier
 * goes quiet.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type { Logger } from '@tandem/common';

/** The environment variable systemd sets for `Type=notify` services. */
export const NOTIFY_SOCKET_VARIABLE = 'NOTIFY_SOCKET';

/** Longest STATUS= text sent; `systemctl status` shows one line, and a datagram must stay small. */
export const MAX_STATUS_LENGTH = 256;

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(struct sockaddr_un.sun_path) on Linux. */
const SUN_PATH_SIZE = 108;
/** offsetof(struct sockaddr_un, sun_path): the 16-bit sa_family_t before it. */
const SUN_PATH_OFFSET = 2;

/**
 * Removes `$NOTIFY_SOCKET` from `env` and returns its value (null when unset or empty). Taken
 * at start, like sd_notify's `unset_environment`, so no child can inherit it, however it is
 * spawned: a child that sent READY=1 or MAINPID= would speak for the agent.
 */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env[NOTIFY_SOCKET_VARIABLE];
  delete env[NOTIFY_SOCKET_VARIABLE];
  return value ? value : null;
}

/**
 * Encodes a `$NOTIFY_SOCKET` value as a `struct sockaddr_un` of exactly the length to pass to
 * sendto: a filesystem path (absolute, NUL-terminated) or `@name`, an abstract name (a leading
 * NUL, no terminator: the length delimits it). Returns null for anything else.
 */
export function notifyAddress(value: string): Uint8Array | null {
  const abstract = value.startsWith('@');
  if (!abstract && !value.startsWith('/')) return null;
  const name = Buffer.from(abstract ? value.slice(1) : value, 'utf8');
  if (name.length === 0 || name.includes(0)) return null;
  // Abstract: NUL + name fills at most the whole sun_path; a path also needs its terminator.
  if (name.length + 1 > SUN_PATH_SIZE) return null;
  const out = new Uint8Array(SUN_PATH_OFFSET + 1 + name.length);
  new DataView(out.buffer).setUint16(0, AF_UNIX, endianness() === 'LE');
  out.set(name, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return out;
}

/** Makes a value safe for one `KEY=value` line: no line breaks, bounded length. */
export function statusText(text: string): string {
  const flat = text.replace(/[\r\n\0]+/g, ' ').trim();
  return flat.length > MAX_STATUS_LENGTH ? `${flat.slice(0, MAX_STATUS_LENGTH - 1)}…` : flat;
}

/** Sends one datagram to a `sockaddr_un`; returns 0 or the errno of the failed call. */
export type DatagramSender = (address: Uint8Array, payload: Uint8Array) => number;

interface Bound {
  socket: (domain: number, type: number, protocol: number) => number;
  sendto: (fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrlen: number) => unknown;
  close: (fd: number) => number;
  errno: () => number;
}

let bound: Bound | undefined;

function bindLibc(): Bound {
  if (bound) return bound;
  // Loaded only when a notification is due: an agent run outside systemd never loads it.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  bound = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as unknown as Bound['socket'],
    sendto: lib.func(
      'intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)',
    ) as unknown as Bound['sendto'],
    close: lib.func('int close(int fd)') as unknown as Bound['close'],
    errno: () => koffi.errno(),
  };
  return bound;
}

/** The {@link DatagramSender} over libc (socket, sendto, close), a fresh socket per message like libsystemd. */
export const libcDatagramSender: DatagramSender = (address, payload) => {
  const c = bindLibc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return c.errno() || -1;
  try {
    const sent = Number(c.sendto(fd, payload, payload.length, MSG_NOSIGNAL, address, address.length));
    if (sent < 0) return c.errno() || -1;
    // A datagram is all or nothing; a short count would mean a truncated message.
    return sent === payload.length ? 0 : -1;
  } finally {
    c.close(fd);
  }
};

/** What the agent tells its service manager; every method is a no-op without `$NOTIFY_SOCKET`. */
export interface ServiceNotifier {
  /** True when a notification socket was given (the agent runs as a Type=notify unit). */
  readonly active: boolean;
  /** `READY=1` with a status line: the service is up. Sent once; later calls only update the status. */
  ready(status: string): void;
  /** A new `STATUS=` line; an unchanged one is not sent again. */
  status(status: string): void;
  /** `STOPPING=1` with a status line: a stop has begun. */
  stopping(status: string): void;
}

/** A notifier that never sends: the agent outside systemd, and tests. */
export const nullNotifier: ServiceNotifier = {
  active: false,
  ready: () => undefined,
  status: () => undefined,
  stopping: () => undefined,
};

/**
 * The notifier for `socket` (the value {@link takeNotifySocket} returned). `send` is replaceable
 * for tests; failures go to `log` once.
 */
export function createNotifier(
  socket: string | null,
  log: Logger,
  send: DatagramSender = libcDatagramSender,
): ServiceNotifier {
  if (socket === null) return nullNotifier;
  const address = notifyAddress(socket);
  let broken = false;
  let readySent = false;
  let lastStatus: string | null = null;
  const fail = (message: string, fields: Record<string, unknown>): void => {
    broken = true;
    log.warn(`service manager notification disabled: ${message}`, { socket, ...fields });
  };
  if (address === null)
    fail('NOTIFY_SOCKET is neither an absolute path nor an @abstract name that fits sockaddr_un', {});
  const emit = (lines: string[]): void => {
    if (broken || address === null) return;
    let errno: number;
    try {
      errno = send(address, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
    } catch (err) {
      fail('cannot call libc through koffi', { error: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (errno !== 0) fail('the datagram was refused', { errno });
  };
  const statusLine = (text: string): string | null => {
    const s = statusText(text);
    if (s === lastStatus) return null;
    lastStatus = s;
    return `STATUS=${s}`;
  };
  return {
    active: true,
    ready(text) {
      const line = statusLine(text);
      if (readySent) {
        if (line) emit([line]);
        return;
      }
      readySent = true;
      emit(['READY=1', ...(line ? [line] : [])]);
      if (!broken) log.info('readiness sent to the service manager', { status: lastStatus });
    },
    status(text) {
      const line = statusLine(text);
      if (line) emit([line]);
    },
    stopping(text) {
      const line = statusLine(text);
      emit(['STOPPING=1', ...(line ? [line] : [])]);
    },
  };
}
