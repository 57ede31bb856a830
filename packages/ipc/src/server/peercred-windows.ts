/**
 * Who is at the other end of the agent's named pipe: the token the client presented when it
 * opened the pipe. The agent impersonates the client for the length of three synchronous calls
 * on its own thread (ImpersonateNamedPipeClient, OpenThreadToken, RevertToSelf) and reads the
 * user SID and the groups from that token.
 *
 * Why not GetNamedPipeClientProcessId + OpenProcess + OpenProcessToken: a pid names a process
 * only while it lives. A client that hands its pipe handle on and exits leaves a pid Windows may
 * give to another, more privileged process before the agent opens it; the token recorded for
 * the connection cannot be swapped that way. The pid is still read, for logs only.
 *
 * Administrators: LocalSystem, or BUILTIN\Administrators (S-1-5-32-544) *enabled* in the token —
 * an elevated token. UAC's filtered token carries the group as deny-only and gets the user role,
 * like a Unix administrator who has not used sudo.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { PeerCredentials } from '../wire.js';
import { Win32Error, type PipeApi, type Win32Handle } from './pipe-api-windows.js';

/** LocalSystem's SID: the agent's own account, root's equivalent. */
export const LOCAL_SYSTEM_SID = 'S-1-5-18';
/** BUILTIN\Administrators. */
export const ADMINISTRATORS_SID = 'S-1-5-32-544';
/** SE_GROUP_ENABLED. */
export const SE_GROUP_ENABLED = 0x4;
/** SE_GROUP_USE_FOR_DENY_ONLY: the group only ever denies (UAC's filtered administrator token). */
export const SE_GROUP_USE_FOR_DENY_ONLY = 0x10;
/** The first uid given to a SID other than LocalSystem's (far above any Unix uid a user would see). */
export const SID_UID_BASE = 2 ** 30;
/** Most distinct SIDs one agent run gives uids to; more is refused. */
export const MAX_SIDS = 4096;

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Win32Error).map(([name, code]) => [code, `ERROR_${name}`]),
);

/** A failed Win32 call while identifying a client, as E_PERMISSION naming the call and the code. */
export function identifyFailure(call: string, code: number): TandemError {
  const name = NAMES[code];
  return new TandemError(
    ErrorCodes.PERMISSION,
    `cannot identify the pipe client: ${call} failed: Win32 error ${code}${name ? ` (${name})` : ''}`,
    { details: { call, win32Error: code } },
  );
}

/**
 * The uid each SID gets for as long as the agent runs: LocalSystem 0, the others one each from
 * {@link SID_UID_BASE} up, never the same number for two SIDs (a hash could collide and merge
 * two users).
 */
export class SidUids {
  private readonly uids = new Map<string, number>();

  /** The uid of `sid`; throws (typed) on text that is not a SID, or past {@link MAX_SIDS}. */
  uidFor(sid: string): number {
    if (!/^S-1-\d{1,15}(-\d{1,10}){1,15}$/.test(sid))
      throw new TandemError(ErrorCodes.PERMISSION, `the pipe client's token has a malformed SID`);
    if (sid === LOCAL_SYSTEM_SID) return 0;
    const known = this.uids.get(sid);
    if (known !== undefined) return known;
    if (this.uids.size >= MAX_SIDS)
      throw new TandemError(ErrorCodes.IPC_LIMIT, `more than ${MAX_SIDS} distinct users since the agent started`);
    const uid = SID_UID_BASE + this.uids.size;
    this.uids.set(sid, uid);
    return uid;
  }
}

/** True when the groups make the token an administrator's elevated one. */
export function elevatedAdministrator(groups: ReadonlyArray<{ sid: string; attributes: number }>): boolean {
  return groups.some(
    (g) =>
      g.sid === ADMINISTRATORS_SID &&
      (g.attributes & SE_GROUP_ENABLED) !== 0 &&
      (g.attributes & SE_GROUP_USE_FOR_DENY_ONLY) === 0,
  );
}

/**
 * Called when RevertToSelf fails: the JS thread would go on as the client. Nothing may run after
 * that (Microsoft: shut the process down), so the default aborts.
 */
export type RevertFailure = (error: number) => never;

const abortOnRevertFailure: RevertFailure = (error) => {
  process.stderr.write(`tandemd: RevertToSelf failed (Win32 error ${error}); aborting\n`);
  process.abort();
};

/** Reads the connected client's identity from `pipe`; throws (typed) when any step fails. */
export function identifyPipeClient(
  api: PipeApi,
  pipe: Win32Handle,
  uids: SidUids,
  onRevertFailure: RevertFailure = abortOnRevertFailure,
): PeerCredentials {
  const pid = api.clientProcessId(pipe);
  if (!pid.ok) throw identifyFailure('GetNamedPipeClientProcessId', pid.error);
  const impersonated = api.impersonateClient(pipe);
  if (impersonated !== 0) throw identifyFailure('ImpersonateNamedPipeClient', impersonated);
  let token;
  try {
    token = api.openThreadToken();
  } finally {
    const reverted = api.revertToSelf();
    if (reverted !== 0) onRevertFailure(reverted);
  }
  // An anonymous client (SECURITY_ANONYMOUS) fails here with ERROR_CANT_OPEN_ANONYMOUS.
  if (!token.ok) throw identifyFailure('OpenThreadToken', token.error);
  try {
    const user = api.tokenUser(token.value);
    if (!user.ok) throw identifyFailure('GetTokenInformation(TokenUser)', user.error);
    const groups = api.tokenGroups(token.value);
    if (!groups.ok) throw identifyFailure('GetTokenInformation(TokenGroups)', groups.error);
    const uid = uids.uidFor(user.value);
    return {
      pid: pid.value,
      uid,
      gid: -1,
      user: user.value,
      admin: user.value === LOCAL_SYSTEM_SID || elevatedAdministrator(groups.value),
    };
  } finally {
    api.closeHandle(token.value);
  }
}
