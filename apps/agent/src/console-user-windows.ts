/**
 * Windows's console user: the user logged on in the session attached to the physical console
 * (WTSGetActiveConsoleSessionId, then that session's token). A Remote Desktop session is not the
 * console, like a remote logind session on Linux; with fast user switching only the session on
 * the screen counts.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ConsoleUsers } from './user-tunnel-policy.js';
import type { WtsApi } from './wtsapi-api-windows.js';

/** No session attached to the console (it is being switched). */
export const NO_CONSOLE_SESSION = 0xffffffff;
/** Nobody logged on in that session (the logon screen). */
const ERROR_NO_TOKEN = 1008;
/** The session went away between the two calls. */
const ERROR_CTX_WINSTATION_NOT_FOUND = 7022;
/** Not LocalSystem (an administrator running tandemd in a console): the platform cannot tell. */
const ERROR_PRIVILEGE_NOT_HELD = 1314;

/** {@link ConsoleUsers} over `api`; an unexpected failure is typed (the connect is refused, never let through). */
export function windowsConsoleUsers(api: WtsApi): ConsoleUsers {
  return () => {
    const session = api.activeConsoleSessionId() >>> 0;
    if (session === NO_CONSOLE_SESSION) return Promise.resolve(new Set<string>());
    const user = api.sessionUser(session);
    if (user.ok) return Promise.resolve(new Set([user.value]));
    if (user.error === ERROR_NO_TOKEN || user.error === ERROR_CTX_WINSTATION_NOT_FOUND)
      return Promise.resolve(new Set<string>());
    if (user.error === ERROR_PRIVILEGE_NOT_HELD) return Promise.resolve(null);
    return Promise.reject(
      new TandemError(
        ErrorCodes.PERMISSION,
        `cannot tell the console user: WTSQueryUserToken(session ${session}) failed: Win32 error ${user.error}`,
        { details: { call: 'WTSQueryUserToken', win32Error: user.error } },
      ),
    );
  };
}
