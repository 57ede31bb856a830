/**
 * Peer credentials on Linux: `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)` on the accepted socket,
 * through koffi (Node has no API for it). The kernel records the connecting process's
 * uid/gid/pid at connect time, so nothing the peer sends can change them.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import { socketFd, type CredentialReader } from './peercred.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_SIZE = 12;

type GetSockOpt = (fd: number, level: number, name: number, out: Record<string, number>, len: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (getsockopt) return getsockopt;
  if (process.platform !== 'linux') {
    throw new TandemError(
      ErrorCodes.PERMISSION,
      `SO_PEERCRED can only be read on Linux; refusing connections on ${process.platform}`,
    );
  }
  // Loaded lazily so importing the server on a machine without koffi fails at accept, not import.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  koffi.struct('tandem_ucred', { pid: 'int32_t', uid: 'uint32_t', gid: 'uint32_t' });
  getsockopt = libc.func(
    'int getsockopt(int fd, int level, int name, _Out_ tandem_ucred *val, _Inout_ uint32_t *len)',
  ) as unknown as GetSockOpt;
  return getsockopt;
}

/** The kernel-backed {@link CredentialReader} of Linux. */
export const readLinuxPeerCredentials: CredentialReader = (socket) => {
  const fd = socketFd(socket);
  const out: Record<string, number> = {};
  const len = [UCRED_SIZE];
  const rc = bind()(fd, SOL_SOCKET, SO_PEERCRED, out, len);
  const { pid, uid, gid } = out;
  if (
    rc !== 0 ||
    len[0] !== UCRED_SIZE ||
    typeof uid !== 'number' ||
    typeof gid !== 'number' ||
    typeof pid !== 'number'
  ) {
    throw new TandemError(ErrorCodes.PERMISSION, 'could not read peer credentials', { details: { rc } });
  }
  // The kernel reports (uid_t)-1 ("overflow uid" aside) when credentials are unknown: treat as failure.
  if (uid === 0xffffffff || gid === 0xffffffff)
    throw new TandemError(ErrorCodes.PERMISSION, 'peer credentials unknown');
  return { pid, uid, gid, user: String(uid) };
};
