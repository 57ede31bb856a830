/**
 * Trust in the other direction: before a user's process talks to "the agent" (and later signs
 * MCA challenges for it), it checks that the socket really belongs to root. Otherwise any local
 * user who got to the path first — a stale /run after a crash, a misconfigured path — could
 * impersonate the agent and harvest signatures. Same idea as mullvad's `verifyOwnership`.
 */
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Throws E_IPC_UNTRUSTED_SOCKET unless `path` is a socket owned by root in a root-owned directory only root can write. */
export async function verifySocketOwner(path: string): Promise<void> {
  const untrusted = (why: string): TandemError =>
    new TandemError(ErrorCodes.IPC_UNTRUSTED_SOCKET, `refusing to talk to ${path}: ${why}`, { details: { path } });
  const st = await lstat(path).catch(() => null);
  if (st === null)
    throw new TandemError(ErrorCodes.IPC_CLOSED, `the agent is not running (no socket at ${path})`, {
      details: { path },
    });
  if (!st.isSocket()) throw untrusted('not a socket');
  if (st.uid !== 0) throw untrusted(`owned by uid ${st.uid}, not root`);
  const dir = await lstat(dirname(path));
  // A directory others can write lets them swap the socket after this check.
  if (dir.uid !== 0) throw untrusted(`its directory is owned by uid ${dir.uid}, not root`);
  if ((dir.mode & 0o022) !== 0 && (dir.mode & 0o1000) === 0)
    throw untrusted('its directory is writable by other users');
}
