/**
 * Resolving `--admin-group` to a gid from /etc/group at start. A name that does not exist is
 * an error: silently granting no one (or everyone) admin would hide a misconfiguration.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, TandemError } from '@tandem/common';

/** The gid of `nameOrGid` (digits are taken as a gid). */
export async function resolveAdminGid(nameOrGid: string, groupFile = '/etc/group'): Promise<number> {
  if (/^\d+$/.test(nameOrGid)) return Number(nameOrGid);
  const text = await readFile(groupFile, 'utf8');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === nameOrGid && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new TandemError(ErrorCodes.USAGE, `--admin-group: no group named ${nameOrGid}`);
}
