/**
 * Who may do what: a pure map from the OS's peer credentials to permissions (tailscale's
 * `ipnauth` structure, with a `control` level between read and admin). The same table serves
 * every platform: each platform's reader fills the same {@link PeerCredentials}.
 */
import type { Permission } from '@tandem/contract';
import type { PeerCredentials } from '../wire.js';

/** Permission policy of the agent. */
export interface PermissionPolicy {
  /**
   * Members of this group are admins. Only the peer's *primary* gid from SO_PEERCRED is
   * consulted: supplementary groups are not in SO_PEERCRED, and reading them from /proc would
   * identify the peer by something other than the kernel's record of the connection.
   */
  adminGid?: number;
}

/** The role a connection gets; `admin` may do everything, `user` may read and control its own tunnel. */
export type Role = 'admin' | 'user';

/**
 * The role for these credentials under `policy`: uid 0 (root; LocalSystem on Windows), a token
 * the Windows reader found elevated in BUILTIN\Administrators (`admin`), or the configured admin
 * group (Unix: the Windows reader's gid is -1 and never matches).
 */
export function roleFor(cred: PeerCredentials, policy: PermissionPolicy): Role {
  if (cred.uid === 0 || cred.admin === true) return 'admin';
  if (policy.adminGid !== undefined && policy.adminGid > 0 && cred.gid === policy.adminGid) return 'admin';
  return 'user';
}

const BY_ROLE: Record<Role, readonly Permission[]> = {
  admin: ['read', 'control', 'admin'],
  // `control` lets a user connect/disconnect the user tunnel; the engine checks ownership.
  user: ['read', 'control'],
};

/** The permissions granted to these credentials under `policy` (a fresh array). */
export function permissionsFor(cred: PeerCredentials, policy: PermissionPolicy): Permission[] {
  return [...BY_ROLE[roleFor(cred, policy)]];
}
