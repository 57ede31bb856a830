/**
 * Peer credentials on macOS: `getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED)` fills a `struct xucred`
 * with the credentials the kernel recorded when the peer connected, and `LOCAL_PEERPID` gives
 * its pid. Like SO_PEERCRED on Linux, nothing the peer sends can change them.
 *
 *   struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
 *
 * is 76 bytes: the short is padded to 4 so the gid array starts at offset 12. `cr_groups[0]` is
 * the effective gid, the one the permission table's admin group is compared with (as on Linux,
 * where SO_PEERCRED has only that one).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { DarwinSocketApi } from './libc-api-darwin.js';
import { socketFd, type CredentialReader } from './peercred.js';

/** `SOL_LOCAL` of <sys/un.h>: options of the local (Unix) domain. */
export const SOL_LOCAL = 0;
/** `LOCAL_PEERCRED`: the peer's `struct xucred`. */
export const LOCAL_PEERCRED = 0x001;
/** `LOCAL_PEERPID`: the peer's pid at connect. */
export const LOCAL_PEERPID = 0x002;
/** `XUCRED_VERSION`: the only layout this reader knows. */
export const XUCRED_VERSION = 0;
/** sizeof(struct xucred). */
export const XUCRED_SIZE = 76;
const NGROUPS = 16;
const UNKNOWN_ID = 0xffffffff;

function refused(why: string, details: Record<string, unknown> = {}): TandemError {
  return new TandemError(ErrorCodes.PERMISSION, `could not read peer credentials: ${why}`, { details });
}

/** Decodes a `struct xucred`; throws (typed) on a layout or value it cannot trust. */
export function decodeXucred(buf: Buffer, length: number): { uid: number; gid: number } {
  if (length !== XUCRED_SIZE) throw refused(`LOCAL_PEERCRED returned ${length} bytes, not ${XUCRED_SIZE}`);
  const version = buf.readUInt32LE(0);
  if (version !== XUCRED_VERSION) throw refused(`unknown xucred version ${version}`);
  const uid = buf.readUInt32LE(4);
  const ngroups = buf.readInt16LE(8);
  if (ngroups < 1 || ngroups > NGROUPS) throw refused(`xucred has ${ngroups} groups`);
  const gid = buf.readUInt32LE(12);
  if (uid === UNKNOWN_ID || gid === UNKNOWN_ID) throw refused('peer credentials unknown');
  return { uid, gid };
}

/** The {@link CredentialReader} of macOS over `api` (the real one from loadDarwinSocketApi). */
export function darwinCredentialReader(api: DarwinSocketApi): CredentialReader {
  return (socket) => {
    const fd = socketFd(socket);
    const cred = Buffer.alloc(XUCRED_SIZE);
    const c = api.getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, cred);
    if (c.errno !== 0) throw refused(`getsockopt(LOCAL_PEERCRED) failed: errno ${c.errno}`, { errno: c.errno });
    const { uid, gid } = decodeXucred(cred, c.length);
    const pidBuf = Buffer.alloc(4);
    const p = api.getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, pidBuf);
    if (p.errno !== 0) throw refused(`getsockopt(LOCAL_PEERPID) failed: errno ${p.errno}`, { errno: p.errno });
    if (p.length !== 4) throw refused(`LOCAL_PEERPID returned ${p.length} bytes`);
    return { pid: pidBuf.readInt32LE(0), uid, gid, user: String(uid) };
  };
}
