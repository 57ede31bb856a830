/** Which transport the client uses on each platform, and that an unknown one is refused. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { openTransport, TRANSPORTS, type TransportOptions } from '../src/client/transport.js';

const PIPE = '\\\\.\\pipe\\tandem';

describe('client transport per platform', () => {
  it('Linux and macOS: the Unix socket, root ownership checked first', async () => {
    for (const platform of ['linux', 'darwin']) {
      await expect(
        openTransport({ address: '/nonexistent/tandemd.sock', allowNonRootOwner: false }, platform),
      ).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED, message: expect.stringMatching(/agent is not running/) });
      await expect(
        openTransport({ address: '/nonexistent/tandemd.sock', allowNonRootOwner: true }, platform),
      ).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED, message: expect.stringMatching(/ENOENT/) });
    }
  });

  it('Windows: the pipe module is loaded, and binding kernel32 fails here, typed', async () => {
    await expect(openTransport({ address: PIPE, allowNonRootOwner: false }, 'win32')).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
      message: "the agent's pipe is Windows'; cannot open it on linux",
    });
    const seen: TransportOptions[] = [];
    const fake = {
      ...TRANSPORTS,
      win32: (o: TransportOptions) => {
        seen.push(o);
        return Promise.reject(new Error('stop'));
      },
    };
    await expect(openTransport({ address: PIPE, allowNonRootOwner: true }, 'win32', fake)).rejects.toThrow('stop');
    expect(seen).toEqual([{ address: PIPE, allowNonRootOwner: true }]);
  });

  it('any other platform: refused, never a guess', async () => {
    await expect(openTransport({ address: '/x.sock', allowNonRootOwner: true }, 'freebsd')).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
      message: 'no way to reach the agent on platform freebsd',
    });
  });
});
