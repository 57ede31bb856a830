/**
 * The client's end of the agent's named pipe (`\\.\pipe\tandem`), opened through Win32 rather
 * than Node's `net.connect`, which asks for GENERIC_READ | GENERIC_WRITE: the agent's SDDL gives
 * authenticated users 0x12019b only (server/pipe-endpoint-windows.ts), so that open would fail
 * for everyone but administrators. So:
 *
 * 1. CreateFileW with {@link PIPE_CLIENT_ACCESS}, a subset of 0x12019b: FILE_GENERIC_READ (read
 *    data, attributes, extended attributes, READ_CONTROL — the owner check below needs it —,
 *    SYNCHRONIZE), FILE_WRITE_DATA to send, FILE_WRITE_ATTRIBUTES for libuv's
 *    SetNamedPipeHandleState (byte read mode) when it adopts the handle. Overlapped, so libuv
 *    serves it on its completion port. SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION: the agent
 *    reads the client's token (ImpersonateNamedPipeClient, OpenThreadToken, TokenUser and
 *    TokenGroups — all an identification-level token allows) but can never act as the user.
 * 2. Unless the caller allowed a development agent: the server must be the real agent. The
 *    pipe's owner (GetSecurityInfo on the handle just opened, so no name or pid can be swapped
 *    meanwhile) must be LocalSystem or Administrators — what a process of LocalSystem's creates,
 *    and no other account can set; a user who took the name first owns that pipe and is refused.
 *    Then the server process's own user, where the token can be read, must be LocalSystem:
 *    opening a LocalSystem process's token is refused to standard users (ERROR_ACCESS_DENIED),
 *    so there the owner check stands alone.
 * 3. The handle goes to Node's C runtime (libuv-api-windows.ts, shared with the server half) and
 *    `net.Socket` adopts the descriptor, already connected.
 */
import net from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { Win32Handle } from '../libuv-api-windows.js';
import type { PipeClientApi } from './pipe-client-api-windows.js';

/** FILE_GENERIC_READ (0x120089) | FILE_WRITE_DATA (0x2) | FILE_WRITE_ATTRIBUTES (0x100): inside the agent's 0x12019b. */
export const PIPE_CLIENT_ACCESS = 0x12018b;
/** FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION. */
export const PIPE_CLIENT_FLAGS = 0x40000000 | 0x100000 | 0x10000;
/** LocalSystem. */
export const LOCAL_SYSTEM_SID = 'S-1-5-18';
/** BUILTIN\Administrators: the default owner of what LocalSystem creates. */
export const ADMINISTRATORS_SID = 'S-1-5-32-544';

const ERROR_FILE_NOT_FOUND = 2;
const ERROR_ACCESS_DENIED = 5;
const ERROR_PIPE_BUSY = 231;
const NAMES: Record<number, string> = { 2: 'FILE_NOT_FOUND', 5: 'ACCESS_DENIED', 231: 'PIPE_BUSY' };

/** Options of {@link connectPipe}. */
export interface PipeConnectOptions {
  /** Check that the server is the agent (off only for a development agent the user runs). */
  verifyServer: boolean;
  /** How long every instance may stay busy before the open gives up; default 2 s. */
  busyTimeoutMs?: number;
  /** Sleep between busy retries (tests). */
  delay?: (ms: number) => Promise<void>;
  /** Wraps the adopted descriptor; default `new net.Socket({ fd, readable: true, writable: true })`. */
  socket?: (fd: number) => net.Socket;
}

function failed(call: string, error: number): string {
  const name = NAMES[error];
  return `${call} failed: Win32 error ${error}${name ? ` (ERROR_${name})` : ''}`;
}

/** Opens `name`, checks who serves it, and hands it to Node; rejects typed (E_IPC_CLOSED, E_IPC_UNTRUSTED_SOCKET). */
export async function connectPipe(api: PipeClientApi, name: string, opts: PipeConnectOptions): Promise<net.Socket> {
  const pipe = await open(api, name, opts);
  try {
    if (opts.verifyServer) verifyServer(api, name, pipe);
  } catch (err) {
    api.closeHandle(pipe);
    throw err;
  }
  const fd = api.adoptHandle(pipe);
  if (!fd.ok) {
    api.closeHandle(pipe);
    throw new TandemError(ErrorCodes.IPC_CLOSED, `cannot connect to the agent: Node refused the pipe handle`);
  }
  // The C runtime owns the handle from here: closing the descriptor (the socket) closes it.
  return (opts.socket ?? ((n) => new net.Socket({ fd: n, readable: true, writable: true })))(fd.value);
}

async function open(api: PipeClientApi, name: string, opts: PipeConnectOptions): Promise<Win32Handle> {
  const deadline = Date.now() + (opts.busyTimeoutMs ?? 2000);
  const sleep = opts.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (;;) {
    const h = api.createFile(name, PIPE_CLIENT_ACCESS, PIPE_CLIENT_FLAGS);
    if (h.ok) return h.value;
    // Every instance taken: the agent creates the next as soon as one connects.
    if (h.error === ERROR_PIPE_BUSY && Date.now() < deadline) {
      await sleep(50);
      continue;
    }
    const details = { details: { pipe: name, win32Error: h.error } };
    if (h.error === ERROR_FILE_NOT_FOUND)
      throw new TandemError(ErrorCodes.IPC_CLOSED, `the agent is not running (no pipe ${name})`, details);
    throw new TandemError(
      ErrorCodes.IPC_CLOSED,
      `cannot connect to the agent: ${failed(`CreateFileW ${name}`, h.error)}`,
      details,
    );
  }
}

function verifyServer(api: PipeClientApi, name: string, pipe: Win32Handle): void {
  const untrusted = (why: string): TandemError =>
    new TandemError(ErrorCodes.IPC_UNTRUSTED_SOCKET, `refusing to talk to ${name}: ${why}`, {
      details: { pipe: name },
    });
  const owner = api.pipeOwner(pipe);
  if (!owner.ok) throw untrusted(`cannot read its owner: ${failed('GetSecurityInfo', owner.error)}`);
  if (owner.value !== LOCAL_SYSTEM_SID && owner.value !== ADMINISTRATORS_SID)
    throw untrusted(`its owner is ${owner.value}, not LocalSystem: another process holds the agent's pipe name`);
  const pid = api.serverProcessId(pipe);
  if (!pid.ok) throw untrusted(failed('GetNamedPipeServerProcessId', pid.error));
  const user = api.processUser(pid.value);
  if (!user.ok && user.error === ERROR_ACCESS_DENIED) return;
  if (!user.ok)
    throw untrusted(`cannot read the user of its process ${pid.value}: ${failed('OpenProcessToken', user.error)}`);
  if (user.value !== LOCAL_SYSTEM_SID)
    throw untrusted(`its process ${pid.value} runs as ${user.value}, not LocalSystem`);
}
