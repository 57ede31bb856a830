/**
 * The Windows rules for the agent's own files, on an owner SID and a DACL as acl-api-windows.ts
 * reads them: the owner must be SYSTEM, Administrators or this process's user, and no other
 * trustee may be granted access (`no-access`, a private directory: 0700's counterpart) or any
 * right that changes the object (`no-write`: 0644's). SYSTEM and Administrators are root's
 * counterparts: they can take any file anyway.
 *
 * Conservative by construction: a NULL DACL, an access-allowed entry of a type not decoded here
 * (object, callback, compound) and every generic or "maximum allowed" right count against the
 * object. Deny entries only take rights away, so they are skipped. Inherit-only entries are
 * checked too — on a directory they decide what the files written into it will grant — except
 * CREATOR OWNER's, which becomes the creating process (the agent) on each new file.
 */
import type { SecurityInfo } from './acl-api-windows.js';

/** LocalSystem: the agent's account. */
export const LOCAL_SYSTEM_SID = 'S-1-5-18';
/** BUILTIN\Administrators (also the default owner of what LocalSystem creates). */
export const ADMINISTRATORS_SID = 'S-1-5-32-544';
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

/** What others may have: nothing at all, or nothing that writes. */
export type Exposure = 'no-access' | 'no-write';

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * Null when `info` passes for `exposure`, else the reason. `self` is this process's user SID
 * (LocalSystem for the agent), trusted like SYSTEM and Administrators.
 */
export function aclRefusal(info: SecurityInfo, exposure: Exposure, self: string): string | null {
  const trusted = new Set([LOCAL_SYSTEM_SID, ADMINISTRATORS_SID, self]);
  if (!trusted.has(info.owner)) return `owned by ${info.owner}, not by SYSTEM, Administrators or ${self}`;
  if (info.dacl === null) return 'has a NULL DACL (everyone has full control)';
  for (const ace of info.dacl) {
    if (DENY_TYPES.has(ace.type)) continue;
    if (ace.type !== ACCESS_ALLOWED_ACE_TYPE) return `has an access-allowed entry of type ${ace.type}, not checked`;
    if (trusted.has(ace.sid)) continue;
    if ((ace.flags & INHERIT_ONLY_ACE) !== 0 && ace.sid === CREATOR_OWNER_SID) continue;
    const granted = exposure === 'no-access' ? ace.mask : (ace.mask & WRITE_RIGHTS) >>> 0;
    if (granted !== 0)
      return `grants ${ace.sid} ${exposure === 'no-access' ? 'access' : 'write access'} (${hex(ace.mask)})`;
  }
  return null;
}
