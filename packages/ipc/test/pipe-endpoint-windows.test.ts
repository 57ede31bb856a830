/** The Windows endpoint's accept loop over the recording fake: flags, SDDL, order, failures. */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RingSink, createLogger, isTandemError } from '@tandem/common';
import type { PeerCredentials } from '@tandem/ipc';
import { PIPE_SDDL, PipeEndpoint } from '../src/server/pipe-endpoint-windows.js';
import { SID_UID_BASE } from '../src/server/peercred-windows.js';
import { ELEVATED_ADMIN_GROUPS, FakePipeApi, USER_GROUPS } from './fake-pipe-api.js';

const NAME = '\\\\.\\pipe\\tandem';
const ALICE = 'S-1-5-21-1-2-3-1001';
/** PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, with FILE_FLAG_FIRST_PIPE_INSTANCE on the first. */
const FIRST = `CreateNamedPipeW(${NAME}, 0x40080003, 0x8, 255, 65536, ${PIPE_SDDL})`;
const NEXT = `CreateNamedPipeW(${NAME}, 0x40000003, 0x8, 255, 65536, ${PIPE_SDDL})`;

function setup(api = new FakePipeApi()) {
  const ring = new RingSink(100);
  const accepted: Array<{ fd: number; peer: PeerCredentials }> = [];
  const refused: string[] = [];
  const endpoint = new PipeEndpoint(
    { address: NAME, socketMode: 0, logger: createLogger({ level: 'debug', sinks: [ring.sink] }) },
    api,
    { socket: (fd) => ({ fd }) as unknown as Socket, delay: () => Promise.resolve() },
  );
  const listen = () =>
    endpoint.listen(
      (socket, peer) => accepted.push({ fd: (socket as unknown as { fd: number }).fd, peer }),
      (reason) => refused.push(reason),
    );
  return { api, endpoint, accepted, refused, listen, ring };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Windows named pipe endpoint', () => {
  it('creates the pipe with its SDDL, remote clients rejected, first instance exclusive; identifies then hands over', async () => {
    const { api, endpoint, accepted, refused, listen } = setup();
    await listen();
    await api.listening();
    api.arrive({ pid: 900, sid: ALICE, groups: USER_GROUPS });
    await api.listening();
    await settle();
    expect(api.calls).toEqual([
      `ConvertStringSecurityDescriptorToSecurityDescriptorW(${PIPE_SDDL})`,
      FIRST,
      'ConnectNamedPipe(100)',
      // The next instance exists before the client is identified, so no one meets ERROR_PIPE_BUSY.
      NEXT,
      'GetNamedPipeClientProcessId(100)',
      'ImpersonateNamedPipeClient(100)',
      'OpenThreadToken(impersonating)',
      'RevertToSelf()',
      'GetTokenInformation(102, TokenUser)',
      'GetTokenInformation(102, TokenGroups)',
      'CloseHandle(102)',
      'uv_open_osfhandle(100)',
      'ConnectNamedPipe(101)',
    ]);
    expect(accepted).toEqual([{ fd: 1100, peer: { pid: 900, uid: SID_UID_BASE, gid: -1, user: ALICE, admin: false } }]);
    expect(refused).toEqual([]);
    await endpoint.close();
    expect(api.calls.slice(-3)).toEqual(['CancelIoEx(101)', 'CloseHandle(101)', `LocalFree(${PIPE_SDDL})`]);
    expect([...api.open]).toEqual([]);
  });

  it('serves clients one after another and keeps each SID on its uid', async () => {
    const { api, endpoint, accepted, listen } = setup();
    await listen();
    for (const [pid, sid, groups] of [
      [1, ALICE, USER_GROUPS],
      [2, 'S-1-5-21-1-2-3-500', ELEVATED_ADMIN_GROUPS],
      [3, ALICE, USER_GROUPS],
    ] as const) {
      await api.listening();
      api.arrive({ pid, sid, groups: [...groups] });
    }
    await api.listening();
    await settle();
    expect(accepted.map((a) => [a.peer.pid, a.peer.uid, a.peer.admin])).toEqual([
      [1, SID_UID_BASE, false],
      [2, SID_UID_BASE + 1, true],
      [3, SID_UID_BASE, false],
    ]);
    await endpoint.close();
  });

  it('refuses to start when the name is taken (ACCESS_DENIED on the first instance) or the SDDL is refused', async () => {
    for (const [what, prepare, code] of [
      ['name taken', (api: FakePipeApi) => (api.createErrors = [5]), ErrorCodes.PERMISSION],
      ['pipe busy', (api: FakePipeApi) => (api.createErrors = [231]), ErrorCodes.PERMISSION],
      ['SDDL refused', (api: FakePipeApi) => (api.sddlError = 1336), ErrorCodes.INTERNAL],
    ] as const) {
      const api = new FakePipeApi();
      prepare(api);
      const { listen } = setup(api);
      const err = await listen().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isTandemError(err, code), what).toBe(true);
      expect(String((err as Error).message), what).toMatch(/Win32 error (5|231|1336)/);
      if (what !== 'SDDL refused') {
        expect((err as Error).message).toContain(what === 'name taken' ? 'refusing to share it' : 'another process');
        expect(api.calls.at(-1)).toBe(`LocalFree(${PIPE_SDDL})`);
      }
      expect([...api.open]).toEqual([]);
    }
  });

  it('drops an unidentifiable client (disconnect + close) and goes on listening', async () => {
    const { api, endpoint, accepted, refused, listen } = setup();
    await listen();
    await api.listening();
    api.arrive({ pid: 7, sid: ALICE, groups: USER_GROUPS, tokenError: 1347 });
    await api.listening();
    await settle();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('OpenThreadToken failed: Win32 error 1347 (ERROR_CANT_OPEN_ANONYMOUS)');
    expect(api.calls).toContain('DisconnectNamedPipe(100)');
    expect(api.calls).toContain('CloseHandle(100)');
    api.arrive({ pid: 8, sid: ALICE, groups: USER_GROUPS });
    await api.listening();
    await settle();
    expect(accepted.map((a) => a.peer.pid)).toEqual([8]);
    await endpoint.close();
  });

  it('a client gone before the connect completed (ERROR_NO_DATA) or a failed adoption never reaches the server', async () => {
    const { api, endpoint, accepted, refused, listen } = setup();
    await listen();
    await api.listening();
    api.arrive({ pid: 1, sid: ALICE, groups: USER_GROUPS, connectError: 232 });
    await api.listening();
    expect(api.calls).toContain('CloseHandle(100)');
    api.adoptError = -1;
    api.arrive({ pid: 2, sid: ALICE, groups: USER_GROUPS });
    await api.listening();
    await settle();
    expect(accepted).toEqual([]);
    expect(refused).toEqual(['uv_open_osfhandle failed: Win32 error -1']);
    expect(api.calls).toContain('CloseHandle(101)');
    await endpoint.close();
    expect([...api.open]).toEqual([]);
  });

  it('retries an instance the system refuses after a client connected, logging it', async () => {
    const { api, endpoint, accepted, listen, ring } = setup();
    await listen();
    await api.listening();
    api.createErrors = [1450, 1450];
    api.arrive({ pid: 3, sid: ALICE, groups: USER_GROUPS });
    await api.listening();
    await settle();
    expect(api.calls.filter((c) => c === NEXT)).toHaveLength(3);
    expect(accepted).toHaveLength(1);
    expect(ring.records().filter((r) => r.msg.includes('cannot create a pipe instance'))).toHaveLength(2);
    await endpoint.close();
  });
});
