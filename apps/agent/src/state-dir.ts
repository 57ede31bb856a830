/**
 * The runtime state directory (`/run/tandem`): root-owned 0755 so users can reach the socket
 * but not plant files, with a 0700 `netjournal/` the tunnel package writes its journal to
 * (docs/attack-surface.md#files-the-agent-writes). A symlink or a directory owned by someone else is refused, not
 * repaired: someone prepared it for us, and following it would hand them our writes. On Windows
 * (the private-path policy of `@tandem/common/safe-fs`) both are private directories with a
 * protected DACL: the socket is a named pipe there, so nobody else needs to reach the directory.
 */
import { lstat, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import { privatePathPolicy, type PrivatePathPolicy } from '@tandem/common/safe-fs';

/** Paths inside the state directory. */
export interface StatePaths {
  stateDir: string;
  journalDir: string;
}

async function ensureDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(path);
  const euid = process.geteuid?.() ?? 0;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new TandemError(ErrorCodes.USAGE, `${path} is not a directory (refusing to follow a link)`, {
      details: { path },
    });
  }
  if (st.uid !== euid) {
    throw new TandemError(ErrorCodes.USAGE, `${path} is owned by uid ${st.uid}, not by the agent (uid ${euid})`, {
      details: { path },
    });
  }
  // mkdir's mode is filtered by the umask (systemd sets 0077); set it exactly.
  if ((st.mode & 0o7777) !== mode) await chmod(path, mode);
}

/** Creates or checks the state directory and its journal directory (`policy`: the one installed). */
export async function prepareStateDir(
  stateDir: string,
  policy: PrivatePathPolicy = privatePathPolicy(),
): Promise<StatePaths> {
  if (policy.kind === 'windows-acl') {
    const journalDir = join(stateDir, 'netjournal');
    policy.ensurePrivateDir(stateDir, ErrorCodes.USAGE);
    policy.ensurePrivateDir(journalDir, ErrorCodes.USAGE);
    return { stateDir, journalDir };
  }
  await ensureDir(stateDir, 0o755);
  const journalDir = join(stateDir, 'netjournal');
  await ensureDir(journalDir, 0o700);
  return { stateDir, journalDir };
}
