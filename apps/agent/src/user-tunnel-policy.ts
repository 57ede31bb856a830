/**
 * Who may start the user tunnel. Secure Client lets the interactive console user connect; on
 * Linux that is the owner of a local, active logind session. Administrators always may. Where
 * logind is absent (containers, minimal systems) the operator chooses the fallback: any local
 * user (`any`, the default) or administrators only (`admins`).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What applies when there is no logind session directory. */
export type WithoutLogind = 'any' | 'admins';

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

/**
 * Null when `uid` may start the user tunnel, else the reason it may not (shown to that caller).
 */
export async function userTunnelRefusal(
  caller: { uid: number; admin: boolean },
  opts: { sessionsDir: string | null; withoutLogind: WithoutLogind },
): Promise<string | null> {
  if (caller.admin) return null;
  const active = await activeLocalUids(opts.sessionsDir);
  if (active === null) {
    return opts.withoutLogind === 'any' ? null : 'only administrators may start the user tunnel on this machine';
  }
  return active.has(caller.uid)
    ? null
    : 'only the user of the active local session (or an administrator) may start the user tunnel';
}
