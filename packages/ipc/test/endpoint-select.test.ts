/** Which endpoint each platform gets, and that an unknown platform never listens. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError, nullLogger } from '@tandem/common';
import { assertEndpointAddress, createIpcServer, openEndpoint, type EndpointOptions } from '@tandem/ipc/server';
import { UnixEndpoint } from '../src/server/unix-endpoint.js';
import { fakeHandlers, socketDir } from './fixtures.js';

const unix = (address = '/run/tandem-test.sock'): EndpointOptions => ({
  address,
  socketMode: 0o666,
  logger: nullLogger,
});
const PIPE = '\\\\.\\pipe\\tandem';

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isTandemError(err)) return { code: err.code, message: err.message };
    return { code: 'untyped', message: String(err) };
  }
  return { code: 'ok', message: '' };
}

describe('endpoint per platform', () => {
  it('Linux: a Unix socket with SO_PEERCRED (or the injected reader)', async () => {
    expect(await openEndpoint(unix(), 'linux')).toBeInstanceOf(UnixEndpoint);
  });

  it('macOS: the darwin module is loaded, and binding libSystem fails here, typed', async () => {
    const r = await rejection(openEndpoint(unix(), 'darwin'));
    expect(r).toEqual({ code: ErrorCodes.PERMISSION, message: "LOCAL_PEERCRED is macOS's; cannot bind it on linux" });
    const injected = await openEndpoint({ ...unix(), readCredentials: () => ({ pid: 1, uid: 1, gid: 1 }) }, 'darwin');
    expect(injected).toBeInstanceOf(UnixEndpoint);
  });

  it('Windows: the pipe module is loaded, and binding kernel32 fails here, typed', async () => {
    const r = await rejection(openEndpoint({ ...unix(), address: PIPE }, 'win32'));
    expect(r).toEqual({ code: ErrorCodes.PERMISSION, message: "the named pipe is Windows'; cannot bind it on linux" });
  });

  it('any other platform: refused, never a fallback', async () => {
    for (const platform of ['freebsd', 'openbsd', 'aix', 'sunos', 'android', '']) {
      const r = await rejection(openEndpoint(unix(), platform));
      expect(r.code, platform).toBe(ErrorCodes.PERMISSION);
      expect(r.message, platform).toContain(`cannot identify local callers on platform ${platform}`);
    }
  });

  it('a server on an unknown platform does not listen at all', async () => {
    const tmp = await socketDir();
    try {
      const server = createIpcServer({
        socketPath: tmp.path,
        handlers: fakeHandlers(),
        agentVersion: 't',
        platform: 'freebsd',
        readCredentials: () => ({ pid: 1, uid: 0, gid: 0 }),
      });
      expect((await rejection(server.listen())).code).toBe(ErrorCodes.PERMISSION);
      expect(existsSync(tmp.path)).toBe(false);
      await server.close();
    } finally {
      await tmp.cleanup();
    }
  });

  it('addresses: a pipe name on Windows only, a Unix path elsewhere (shorter on macOS)', () => {
    const ok = (a: unknown, p: string) => {
      try {
        assertEndpointAddress(a, p);
        return 'ok';
      } catch (err) {
        return isTandemError(err) ? err.code : 'untyped';
      }
    };
    expect(ok(PIPE, 'win32')).toBe('ok');
    expect(ok('\\\\.\\pipe\\tandem-ci-42', 'win32')).toBe('ok');
    for (const bad of [
      '/run/tandem/tandemd.sock',
      '\\\\server\\pipe\\tandem',
      '\\\\.\\pipe\\',
      '\\\\.\\pipe\\a\\b',
      7,
    ]) {
      expect(ok(bad, 'win32'), String(bad)).toBe(ErrorCodes.USAGE);
    }
    expect(ok(PIPE, 'linux')).toBe(ErrorCodes.USAGE);
    const path104 = `/${'a'.repeat(103)}`;
    expect(ok(path104, 'linux')).toBe('ok');
    expect(ok(path104, 'darwin')).toBe(ErrorCodes.USAGE);
    expect(ok(path104.slice(0, 103), 'darwin')).toBe('ok');
  });
});
