/**
 * How the client reaches the agent, chosen once per platform: a Unix socket owned by root on
 * Linux and macOS (ownership.ts checks it before a byte is sent), the agent's named pipe on
 * Windows (pipe-connect-windows.ts, reached only through a dynamic `import()` so a Linux client
 * never loads it). Any other platform is refused, as the agent refuses to listen there.
 */
import net from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';
import { verifySocketOwner } from './ownership.js';

/** What a transport needs. */
export interface TransportOptions {
  /** The socket path or pipe name. */
  address: string;
  /** Skip the check that the agent is root's / LocalSystem's (development agents only). */
  allowNonRootOwner: boolean;
}

/** The platforms with a transport. */
export type TransportPlatform = 'linux' | 'darwin' | 'win32';

type Transport = (o: TransportOptions) => Promise<net.Socket>;

/** The Unix socket, after the root-ownership check; resolves once connected. */
async function unixTransport(o: TransportOptions): Promise<net.Socket> {
  if (!o.allowNonRootOwner) await verifySocketOwner(o.address);
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection({ path: o.address });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) =>
      reject(new TandemError(ErrorCodes.IPC_CLOSED, `cannot connect to the agent: ${err.message}`, { cause: err })),
    );
  });
}

/** Each platform's transport (exported so tests can see which module a platform gets). */
export const TRANSPORTS: Readonly<Record<TransportPlatform, Transport>> = {
  linux: unixTransport,
  darwin: unixTransport,
  win32: async (o) => {
    const [{ connectPipe }, { loadPipeClientApi }] = await Promise.all([
      import('./pipe-connect-windows.js'),
      import('./pipe-client-api-windows.js'),
    ]);
    return connectPipe(loadPipeClientApi(), o.address, { verifyServer: !o.allowNonRootOwner });
  },
};

/** A connected stream to the agent on `platform` (default: this process's); `transports` is for tests. */
export async function openTransport(
  o: TransportOptions,
  platform: string = process.platform,
  transports: Readonly<Record<TransportPlatform, Transport>> = TRANSPORTS,
): Promise<net.Socket> {
  if (!Object.hasOwn(transports, platform))
    throw new TandemError(ErrorCodes.IPC_CLOSED, `no way to reach the agent on platform ${platform}`, {
      details: { platform },
    });
  return transports[platform as TransportPlatform](o);
}
