/**
 * macOS's console user: the owner of `/dev/console`, which loginwindow hands to whoever logs in
 * at the screen (fast user switching included) and takes back to root at the login window. A
 * user logged in over SSH does not own it, like a remote logind session on Linux.
 */
import { stat } from 'node:fs/promises';
import type { ConsoleUsers } from './user-tunnel-policy.js';

/** The console device. */
export const CONSOLE_DEVICE = '/dev/console';

/** {@link ConsoleUsers} from the owner of `/dev/console`; `owner` is for tests. */
export function darwinConsoleUsers(
  owner: () => Promise<number> = async () => (await stat(CONSOLE_DEVICE)).uid,
): ConsoleUsers {
  return async () => {
    let uid: number;
    try {
      uid = await owner();
    } catch {
      // No console device: the platform cannot tell (the operator's fallback applies).
      return null;
    }
    // root owns it at the login window: nobody is at the console.
    return uid === 0 ? new Set() : new Set([String(uid)]);
  };
}
