/**
 * Who is at the machine's console, chosen once per platform (user-tunnel-policy.ts asks it on
 * each `connect`): logind's active local sessions on Linux (this build's own code), the owner of
 * `/dev/console` on macOS, the user of the active console session on Windows — the last two
 * reached only through a dynamic `import()`. Any other platform is a typed error.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import {
  logindConsoleUsers,
  logindSessionsDir,
  userTunnelRefusal,
  type ConsoleUsers,
  type WithoutLogind,
} from './user-tunnel-policy.js';

/** What {@link openConsoleUsers} needs. */
export interface ConsoleUsersOptions {
  /** logind's session directory at the moment of asking (Linux). */
  sessionsDir: () => string | null;
}

/** The console users of `platform` (default: this process's). */
export async function openConsoleUsers(
  options: ConsoleUsersOptions,
  platform: string = process.platform,
): Promise<ConsoleUsers> {
  switch (platform) {
    case 'linux':
      return logindConsoleUsers(options.sessionsDir);
    case 'darwin':
      return (await import('./console-user-darwin.js')).darwinConsoleUsers();
    case 'win32': {
      const [{ windowsConsoleUsers }, { loadWtsApi }] = await Promise.all([
        import('./console-user-windows.js'),
        import('./wtsapi-api-windows.js'),
      ]);
      return windowsConsoleUsers(loadWtsApi());
    }
    default:
      throw new TandemError(ErrorCodes.USAGE, `cannot tell the console user on platform ${platform}`, {
        details: { platform },
      });
  }
}

/**
 * The `connect` gate handlers.ts calls: {@link userTunnelRefusal} over this platform's console
 * users (`--logind-sessions-dir`, else logind's own when systemd runs the machine, on Linux).
 */
export async function openUserTunnelGate(
  options: { logindSessionsDir: string | null; userTunnelWithoutLogind: WithoutLogind },
  platform: string = process.platform,
): Promise<(caller: { uid: number; admin: boolean; user: string }) => Promise<string | null>> {
  const consoleUsers = await openConsoleUsers(
    { sessionsDir: () => options.logindSessionsDir ?? logindSessionsDir() },
    platform,
  );
  return (caller) =>
    userTunnelRefusal(caller, { sessionsDir: null, withoutLogind: options.userTunnelWithoutLogind, consoleUsers });
}
