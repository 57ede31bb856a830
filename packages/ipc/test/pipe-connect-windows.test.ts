/**
 * The client's end of the agent's named pipe over a recording fake of its Win32 calls: the rights
 * and the impersonation level it asks for, the checks that the server is the agent, and every
 * failure typed with the handle closed.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import type { Win32 } from '../src/libuv-api-windows.js';
import { connectPipe, PIPE_CLIENT_ACCESS, PIPE_CLIENT_FLAGS } from '../src/client/pipe-connect-windows.js';
import type { PipeClientApi } from '../src/client/pipe-client-api-windows.js';

const NAME = '\\\\.\\pipe\\tandem';
const SYSTEM = 'S-1-5-18';
const ADMINS = 'S-1-5-32-544';
const ALICE = 'S-1-5-21-1-2-3-1001';
/** What the agent's SDDL gives authenticated users. */
const AGENT_GRANT = 0x12019b;

class FakePipeClientApi implements PipeClientApi {
  readonly calls: string[] = [];
  readonly open = new Set<number>();
  /** CreateFileW answers in order; after the list, success. */
  createErrors: number[] = [];
  owner: Win32<string> = { ok: true, value: ADMINS };
  pid: Win32<number> = { ok: true, value: 4242 };
  user: Win32<string> = { ok: true, value: SYSTEM };
  adopt: Win32<number> = { ok: true, value: 7 };
  private next = 100;

  createFile(name: string, access: number, flags: number): Win32<number> {
    this.calls.push(`CreateFileW(${name}, 0x${access.toString(16)}, 0x${flags.toString(16)})`);
    const error = this.createErrors.shift();
    if (error !== undefined) return { ok: false, error };
    const h = this.next++;
    this.open.add(h);
    return { ok: true, value: h };
  }
  pipeOwner(pipe: number): Win32<string> {
    this.calls.push(`GetSecurityInfo(${pipe}, SE_KERNEL_OBJECT, OWNER)`);
    return this.owner;
  }
  serverProcessId(pipe: number): Win32<number> {
    this.calls.push(`GetNamedPipeServerProcessId(${pipe})`);
    return this.pid;
  }
  processUser(pid: number): Win32<string> {
    this.calls.push(`OpenProcessToken(${pid})`);
    return this.user;
  }
  closeHandle(h: number): void {
    this.calls.push(`CloseHandle(${h})`);
    this.open.delete(h);
  }
  adoptHandle(h: number): Win32<number> {
    this.calls.push(`uv_open_osfhandle(${h})`);
    if (this.adopt.ok) this.open.delete(h);
    return this.adopt;
  }
}

const sockets: number[] = [];
const opts = (verifyServer = true) => ({
  verifyServer,
  delay: () => Promise.resolve(),
  socket: (fd: number) => {
    sockets.push(fd);
    return { fd } as unknown as Socket;
  },
});
const OPEN = `CreateFileW(${NAME}, 0x12018b, 0x40110000)`;

describe('named pipe client', () => {
  it('asks only for rights the agent grants users, at identification level, overlapped', () => {
    expect(PIPE_CLIENT_ACCESS & ~AGENT_GRANT).toBe(0);
    // No FILE_APPEND_DATA (FILE_CREATE_PIPE_INSTANCE on a pipe), no generic rights.
    expect(PIPE_CLIENT_ACCESS & 0x4).toBe(0);
    expect(PIPE_CLIENT_ACCESS & 0xf0000000).toBe(0);
    // READ_CONTROL (the owner check), FILE_READ_DATA, FILE_WRITE_DATA, FILE_WRITE_ATTRIBUTES (libuv's pipe mode).
    for (const right of [0x20000, 0x1, 0x2, 0x100]) expect(PIPE_CLIENT_ACCESS & right).toBe(right);
    expect(PIPE_CLIENT_FLAGS).toBe(0x40000000 | 0x00100000 | 0x00010000);
  });

  it('checks the owner, then the server process, then hands the handle to Node', async () => {
    const api = new FakePipeClientApi();
    const socket = await connectPipe(api, NAME, opts());
    expect((socket as unknown as { fd: number }).fd).toBe(7);
    expect(api.calls).toEqual([
      OPEN,
      'GetSecurityInfo(100, SE_KERNEL_OBJECT, OWNER)',
      'GetNamedPipeServerProcessId(100)',
      'OpenProcessToken(4242)',
      'uv_open_osfhandle(100)',
    ]);
    expect([...api.open]).toEqual([]);
  });

  it("a standard user cannot read LocalSystem's token: the owner check stands alone", async () => {
    const api = new FakePipeClientApi();
    api.owner = { ok: true, value: SYSTEM };
    api.user = { ok: false, error: 5 };
    await expect(connectPipe(api, NAME, opts())).resolves.toBeDefined();
    expect(api.calls.at(-1)).toBe('uv_open_osfhandle(100)');
  });

  it('refuses a pipe someone else created or served, closing the handle, never adopting it', async () => {
    const cases: Array<[Partial<FakePipeClientApi>, RegExp]> = [
      [{ owner: { ok: true, value: ALICE } }, /its owner is S-1-5-21-1-2-3-1001, not LocalSystem/],
      [
        { owner: { ok: false, error: 5 } },
        /cannot read its owner: GetSecurityInfo failed: Win32 error 5 \(ERROR_ACCESS_DENIED\)/,
      ],
      [{ pid: { ok: false, error: 1 } }, /GetNamedPipeServerProcessId failed: Win32 error 1/],
      [{ user: { ok: true, value: ALICE } }, /its process 4242 runs as S-1-5-21-1-2-3-1001, not LocalSystem/],
      [
        { user: { ok: false, error: 87 } },
        /cannot read the user of its process 4242: OpenProcessToken failed: Win32 error 87/,
      ],
    ];
    for (const [answers, message] of cases) {
      const api = Object.assign(new FakePipeClientApi(), answers);
      await expect(connectPipe(api, NAME, opts()), String(message)).rejects.toMatchObject({
        code: ErrorCodes.IPC_UNTRUSTED_SOCKET,
        message: expect.stringMatching(message),
      });
      expect(api.calls.at(-1)).toBe('CloseHandle(100)');
      expect(api.calls.some((c) => c.startsWith('uv_open_osfhandle'))).toBe(false);
      expect([...api.open]).toEqual([]);
    }
  });

  it('a development agent: no server checks when the caller allows it', async () => {
    const api = new FakePipeClientApi();
    api.owner = { ok: true, value: ALICE };
    await connectPipe(api, NAME, opts(false));
    expect(api.calls).toEqual([OPEN, 'uv_open_osfhandle(100)']);
  });

  it('no pipe: the agent is not running; refused open: the Win32 error; busy: retried, then given up', async () => {
    const missing = new FakePipeClientApi();
    missing.createErrors = [2];
    await expect(connectPipe(missing, NAME, opts())).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
      message: `the agent is not running (no pipe ${NAME})`,
    });
    const denied = new FakePipeClientApi();
    denied.createErrors = [5];
    await expect(connectPipe(denied, NAME, opts())).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
      message: expect.stringMatching(/CreateFileW .* failed: Win32 error 5 \(ERROR_ACCESS_DENIED\)/),
    });
    const busy = new FakePipeClientApi();
    busy.createErrors = [231, 231];
    await connectPipe(busy, NAME, opts());
    expect(busy.calls.filter((c) => c === OPEN)).toHaveLength(3);
    const stuck = new FakePipeClientApi();
    stuck.createErrors = Array<number>(1000).fill(231);
    await expect(connectPipe(stuck, NAME, { ...opts(), busyTimeoutMs: 0 })).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
      message: expect.stringMatching(/ERROR_PIPE_BUSY/),
    });
    expect(stuck.calls).toEqual([OPEN]);
  });

  it('Node refusing the handle closes it', async () => {
    const api = new FakePipeClientApi();
    api.adopt = { ok: false, error: -1 };
    await expect(connectPipe(api, NAME, opts())).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED });
    expect(api.calls.slice(-2)).toEqual(['uv_open_osfhandle(100)', 'CloseHandle(100)']);
    expect([...api.open]).toEqual([]);
  });
});
