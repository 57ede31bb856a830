/**
 * The Windows rules for the agent's own files, on an owner SID and a DACL as acl-api-windows.ts
 * reads them: the owner must be SYSTEM, Administrators, TrustedInstaller or this process's user,
 * and no other trustee may be granted access (`no-access`, a private directory: 0700's
 * counterpart), any right that changes the object (`no-write`: 0644's), or — for a directory on
 * the way to a trusted file (`no-replace`) — a right that lets them remove, rename or re-secure
 * what is in it. Creating entries is harmless there, unlike on POSIX: a new file belongs to its
 * creator, whom the file's own check refuses, and replacing an entry takes DELETE on it or
 * FILE_DELETE_CHILD on the directory. `%ProgramData%` lets every user create files and folders,
 * so this is what its subdirectories (Secure Client's among them) can be held to. SYSTEM,
 * Administrators and TrustedInstaller are root's counterparts: they can take any file anyway.
 *
 * Conservative by construction: a NULL DACL, an access-allowed entry of a type not decoded here
 * (object, callback, compound) and every generic or "maximum allowed" right count against the
 * object. Deny entries only take rights away, so they are skipped. Inherit-only entries are
 * checked too — on a directory they decide what the files written into it will grant — except
 * CREATOR OWNER's, which becomes the creating process (the agent) on each new file, and except
 * for `no-replace`, which is about the directory itself.
 */
import type { SecurityInfo } from './acl-api-windows.js';

/** LocalSystem: the agent's account. */
export const LOCAL_SYSTEM_SID = 'S-1-5-18';
/** BUILTIN\Administrators (also the default owner of what LocalSystem creates). */
export const ADMINISTRATORS_SID = 'S-1-5-32-544';
/** NT SERVICE\TrustedInstaller: the owner of the system's own folders (a drive's root among them). */
export const TRUSTED_INSTALLER_SID = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464';
/** CREATOR OWNER: replaced by the creator of each new child. */
export const CREATOR_OWNER_SID = 'S-1-3-0';

/** ACCESS_ALLOWED_ACE_TYPE: the one allow type decoded. */
export const ACCESS_ALLOWED_ACE_TYPE = 0;
/** ACCESS_DENIED_ACE_TYPE and its object and callback forms. */
const DENY_TYPES = new Set([1, 6, 10, 12]);
/** INHERIT_ONLY_ACE: the entry applies to children only. */
export const INHERIT_ONLY_ACE = 0x8;

/**
 * Every right that changes a file or a directory, its entries, its attributes or its security:
 * FILE_WRITE_DATA/ADD_FILE, FILE_APPEND_DATA/ADD_SUBDIRECTORY, FILE_WRITE_EA, FILE_DELETE_CHILD,
 * FILE_WRITE_ATTRIBUTES, DELETE, WRITE_DAC, WRITE_OWNER, ACCESS_SYSTEM_SECURITY,
 * MAXIMUM_ALLOWED, GENERIC_ALL, GENERIC_WRITE.
 */
export const WRITE_RIGHTS =
  0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x1000000 | 0x2000000 | 0x10000000 | 0x40000000;

/**
 * The rights that let someone remove, rename or re-secure a directory's entries or the
 * directory itself: FILE_DELETE_CHILD, DELETE, WRITE_DAC, WRITE_OWNER, ACCESS_SYSTEM_SECURITY,
 * MAXIMUM_ALLOWED, GENERIC_ALL.
 */
export const REPLACE_RIGHTS = 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x1000000 | 0x2000000 | 0x10000000;

/** What others may have: nothing at all, nothing that writes, nothing that replaces entries (a directory on the path). */
export type Exposure = 'no-access' | 'no-write' | 'no-replace';

const LIMITS: Record<Exposure, { mask: number; what: string }> = {
  'no-access': { mask: 0xffffffff, what: 'access' },
  'no-write': { mask: WRITE_RIGHTS, what: 'write access' },
  'no-replace': { mask: REPLACE_RIGHTS, what: 'the right to replace its entries' },
};

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * Null when `info` passes for `exposure`, else the reason. `self` is this process's user SID
 * (LocalSystem for the agent), trusted like SYSTEM and Administrators.
 */
export function aclRefusal(info: SecurityInfo, exposure: Exposure, self: string): string | null {
  const trusted = new Set([LOCAL_SYSTEM_SID, ADMINISTRATORS_SID, TRUSTED_INSTALLER_SID, self]);
  if (!trusted.has(info.owner)) return `owned by ${info.owner}, not by SYSTEM, Administrators or ${self}`;
  if (info.dacl === null) return 'has a NULL DACL (everyone has full control)';
  const limit = LIMITS[exposure];
  for (const ace of info.dacl) {
    if (DENY_TYPES.has(ace.type)) continue;
    if (ace.type !== ACCESS_ALLOWED_ACE_TYPE) return `has an access-allowed entry of type ${ace.type}, not checked`;
    if (trusted.has(ace.sid)) continue;
    const inheritOnly = (ace.flags & INHERIT_ONLY_ACE) !== 0;
    if (inheritOnly && (ace.sid === CREATOR_OWNER_SID || exposure === 'no-replace')) continue;
    if ((ace.mask & limit.mask) >>> 0 !== 0) return `grants ${ace.sid} ${limit.what} (${hex(ace.mask)})`;
  }
  return null;
}
