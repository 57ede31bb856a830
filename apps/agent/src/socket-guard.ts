/**
 * Checks before binding the socket: its directory must be a real directory owned by the
 * agent that no one else can write (so no one can swap the socket under clients), and a
 * socket already at the path is only replaced when no agent answers on it — a second agent
 * must not steal a running agent's socket.
 */
import net from 'node:net';
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Throws unless the socket's directory is owned by us and not writable by group or others. */
export async function checkSocketDir(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  const st = await lstat(dir);
  const euid = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw new TandemError(ErrorCodes.USAGE, `socket directory ${dir} is not a directory`);
  if (st.uid !== euid || (st.mode & 0o022) !== 0) {
    throw new TandemError(
      ErrorCodes.USAGE,
      `socket directory ${dir} must be owned by uid ${euid} and not writable by group/others`,
    );
  }
}

/** True when something accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

/**
 * Both checks where the endpoint is a Unix socket. On Windows there is no socket file: the
 * agent's pipe is created with FILE_FLAG_FIRST_PIPE_INSTANCE, so a running agent (or anyone
 * holding the name) makes the listen fail instead (ipc's pipe-endpoint-windows.ts).
 */
export async function guardSocketPath(socketPath: string, platform: string = process.platform): Promise<void> {
  if (platform === 'win32') return;
  await checkSocketDir(socketPath);
  await assertNoRunningAgent(socketPath);
}

/** Throws when another agent is serving `socketPath`; a dead socket is left for the IPC server to replace. */
export async function assertNoRunningAgent(socketPath: string): Promise<void> {
  const st = await lstat(socketPath).catch(() => null);
  if (st === null || !st.isSocket()) return;
  if (await answers(socketPath)) {
    throw new TandemError(ErrorCodes.USAGE, `another agent is already serving ${socketPath}`);
  }
}
