/**
 * Who may start the user tunnel. Secure Client lets the interactive console user connect; on
 * Linux that is the owner of a local, active logind session, on macOS the owner of
 * `/dev/console`, on Windows the user of the active console session (console-user.ts chooses).
 * Administrators always may. Where the platform cannot tell (no logind: containers, minimal
 * systems) the operator chooses the fallback: any local user (`any`, the default) or
 * administrators only (`admins`).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What applies when there is no logind session directory. */
export type WithoutLogind = 'any' | 'admins';

/**
 * The users at the machine's console now, by user key (the uid in decimal on Unix, the SID on
 * Windows: the peer's `user`); null when the platform cannot tell.
 */
export type ConsoleUsers = () => Promise<ReadonlySet<string> | null>;

/** Where logind publishes its sessions (one `KEY=VALUE` file per session). */
export const LOGIND_SESSIONS_DIR = '/run/systemd/sessions';

/**
 * logind's session directory when systemd runs this machine (`/run/systemd/system` exists, the
 * test `sd_booted()` makes), else null: a leftover directory without logind proves nothing.
 */
export function logindSessionsDir(): string | null {
  return existsSync('/run/systemd/system') ? LOGIND_SESSIONS_DIR : null;
}

/** The uids owning a local (not remote), active logind session; null when logind is absent. */
export async function activeLocalUids(sessionsDir: string | null): Promise<Set<number> | null> {
  if (sessionsDir === null) return null;
  let names: string[];
  try {
    names = await readdir(sessionsDir);
  } catch {
    return null;
  }
  const uids = new Set<number>();
  for (const name of names.slice(0, 1024)) {
    // logind writes `<id>` and `<id>.ref` files; only the former describe sessions.
    if (name.includes('.')) continue;
    const text = await readFile(join(sessionsDir, name), 'utf8').catch(() => '');
    const fields = new Map(
      text
        .split('\n')
        .map((l) => l.split('='))
        .filter((kv) => kv.length >= 2)
        .map(([k, ...v]) => [k!, v.join('=')] as const),
    );
    const uid = Number(fields.get('UID'));
    if (Number.isSafeInteger(uid) && fields.get('ACTIVE') === '1' && fields.get('REMOTE') !== '1') uids.add(uid);
  }
  return uids;
}

/** Linux's {@link ConsoleUsers}: logind's active local sessions, read from `sessionsDir()` at each call. */
export function logindConsoleUsers(sessionsDir: () => string | null): ConsoleUsers {
  return async () => {
    const uids = await activeLocalUids(sessionsDir());
    return uids === null ? null : new Set([...uids].map(String));
  };
}

/**
 * Null when the caller may start the user tunnel, else the reason it may not (shown to that
 * caller). `consoleUsers` (console-user.ts) replaces the logind directory when given.
 */
export async function userTunnelRefusal(
  caller: { uid: number; admin: boolean; user?: string },
  opts: { sessionsDir: string | null; withoutLogind: WithoutLogind; consoleUsers?: ConsoleUsers },
): Promise<string | null> {
  if (caller.admin) return null;
  if (opts.consoleUsers) {
    const users = await opts.consoleUsers();
    if (users === null) return fallback(opts.withoutLogind);
    return users.has(caller.user ?? String(caller.uid)) ? null : NOT_CONSOLE;
  }
  const active = await activeLocalUids(opts.sessionsDir);
  if (active === null) return fallback(opts.withoutLogind);
  return active.has(caller.uid) ? null : NOT_CONSOLE;
}

const NOT_CONSOLE = 'only the user of the active local session (or an administrator) may start the user tunnel';

function fallback(withoutLogind: WithoutLogind): string | null {
  return withoutLogind === 'any' ? null : 'only administrators may start the user tunnel on this machine';
}
