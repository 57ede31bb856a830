/**
 * Reaching the agent from an API command: which socket (`--socket`, `TANDEM_SOCKET`, the
 * default), a clear message when tandemd is not running, and the IPC client's root-ownership
 * check kept on unless a developer explicitly runs their own agent.
 */
import { lstat } from 'node:fs/promises';
import { ErrorCodes, TandemError } from '@tandem/common';
import { DEFAULT_SOCKET, socketFromEnv } from '@tandem/contract';
import { connectIpc, type IpcClient, type ReverseHandlers } from '@tandem/ipc/client';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { cliVersion } from '../version.js';

/** parseArgs declarations every API command accepts. */
export const AGENT_OPTIONS: OptionSpec = {
  socket: { type: 'string' },
  'allow-non-root-agent': { type: 'boolean' },
};

/** Usage lines of {@link AGENT_OPTIONS}. */
export const AGENT_USAGE = `  --socket PATH              Agent socket (default $TANDEM_SOCKET, else ${DEFAULT_SOCKET})
  --allow-non-root-agent     Talk to an agent whose socket is not owned by root (development
                             agents only: anyone could pose as the agent otherwise)`;

/** The socket path chosen by `--socket`, then `TANDEM_SOCKET`, then {@link DEFAULT_SOCKET}. */
export function socketPathFrom(values: ParsedArgs['values'], env: NodeJS.ProcessEnv = process.env): string {
  const flag = values['socket'];
  if (typeof flag === 'string' && flag !== '') return flag;
  return socketFromEnv(env);
}

/**
 * Connects to the agent named by the options. A missing socket or a refused connection becomes
 * "tandemd is not running" (E_IPC_CLOSED); a socket not owned by root is refused by the IPC
 * client with E_IPC_UNTRUSTED_SOCKET before a single byte is sent.
 */
export async function openAgent(
  values: ParsedArgs['values'],
  reverseHandlers: ReverseHandlers = {},
): Promise<IpcClient> {
  const socketPath = socketPathFrom(values);
  const notRunning = (why: string): TandemError =>
    new TandemError(ErrorCodes.IPC_CLOSED, `tandemd is not running (${why} ${socketPath})`, {
      details: { socketPath },
    });
  // On Windows the "socket" is the agent's named pipe: a stat would open (and use up) an instance.
  if (process.platform !== 'win32' && (await lstat(socketPath).catch(() => null)) === null)
    throw notRunning('no socket at');
  try {
    return await connectIpc({
      socketPath,
      clientVersion: `tandem-cli/${cliVersion()}`,
      reverseHandlers,
      allowNonRootOwner: values['allow-non-root-agent'] === true,
    });
  } catch (err) {
    // ECONNREFUSED/ENOENT after the check: a stale socket left by an agent that died.
    if (err instanceof TandemError && err.code === ErrorCodes.IPC_CLOSED && /ECONNREFUSED|ENOENT/.test(err.message)) {
      throw notRunning('nothing listens on');
    }
    throw err;
  }
}

/** Runs `body` with a connected client and always closes it afterwards. */
export async function withAgent<T>(values: ParsedArgs['values'], body: (client: IpcClient) => Promise<T>): Promise<T> {
  const client = await openAgent(values);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}
