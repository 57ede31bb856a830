/**
 * Preparing the listening path. The agent listens on a Unix-domain socket and nothing else:
 * `net.Server.listen` also accepts ports and host names, so the path is checked here before
 * it reaches `listen` — a relative path, a number or a Windows pipe name is refused.
 */
import { lstat, unlink, chmod } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Longest path `sockaddr_un.sun_path` can hold on Linux (108 bytes with the terminator). */
const MAX_SUN_PATH = 107;

/**
 * Throws unless `path` is an absolute filesystem path usable as a Unix socket address of at most
 * `maxBytes` bytes (Linux's by default; macOS's sun_path is 4 bytes shorter).
 */
export function assertUnixSocketPath(path: unknown, maxBytes = MAX_SUN_PATH): asserts path is string {
  if (typeof path !== 'string' || path.length === 0)
    throw new TandemError(ErrorCodes.USAGE, 'socket path must be a string');
  if (!isAbsolute(path) || !path.startsWith('/'))
    throw new TandemError(ErrorCodes.USAGE, `socket path must be absolute: ${path}`);
  if (path.startsWith('//') || path.includes('\0'))
    throw new TandemError(ErrorCodes.USAGE, `not a Unix socket path: ${path}`);
  if (Buffer.byteLength(path) > maxBytes)
    throw new TandemError(ErrorCodes.USAGE, `socket path longer than ${maxBytes} bytes`);
}

/**
 * Removes a stale socket left by a previous agent. Anything that is not a socket is left alone
 * and reported: deleting an arbitrary file at a configured path is how privileged agents get
 * turned into file-deletion primitives.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st === null) return;
  if (!st.isSocket()) throw new TandemError(ErrorCodes.USAGE, `refusing to replace non-socket file at ${path}`);
  await unlink(path);
}

/** Sets the socket file mode; access is decided per call from peer credentials, not by mode. */
export async function setSocketMode(path: string, mode: number): Promise<void> {
  await chmod(path, mode);
}
