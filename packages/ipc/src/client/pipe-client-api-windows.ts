/**
 * The Win32 calls of the client's end of the agent's named pipe, as an interface of its own:
 * pipe-connect-windows.ts receives it, tests pass a fake that records every call and answers with
 * the error codes the API documents, and {@link loadPipeClientApi} binds the real ones through
 * koffi — on Windows only. Handles are plain numbers, SIDs text.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import { loadLibuvApi, type Win32, type Win32Handle } from '../libuv-api-windows.js';
import { loadTokenApi } from '../token-api-windows.js';

/** The calls the pipe client makes. */
export interface PipeClientApi {
  /** CreateFileW(name, access, no sharing, no SECURITY_ATTRIBUTES, OPEN_EXISTING, flags, no template). */
  createFile(name: string, access: number, flags: number): Win32<Win32Handle>;
  /** GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION): the pipe's owner SID (needs READ_CONTROL). */
  pipeOwner(pipe: Win32Handle): Win32<string>;
  /** GetNamedPipeServerProcessId. */
  serverProcessId(pipe: Win32Handle): Win32<number>;
  /** OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION) + OpenProcessToken(TOKEN_QUERY) + TokenUser: the process's user SID. */
  processUser(pid: number): Win32<string>;
  /** CloseHandle; errors ignored. */
  closeHandle(handle: Win32Handle): void;
  /** node.exe's `uv_open_osfhandle` (libuv-api-windows.ts): the descriptor `net.Socket` adopts. */
  adoptHandle(handle: Win32Handle): Win32<number>;
}

type Fn = (...args: unknown[]) => unknown;

let loaded: PipeClientApi | undefined;

/** Binds kernel32 and advapi32 through koffi, once per process; fails (typed) anywhere but Windows. */
export function loadPipeClientApi(): PipeClientApi {
  loaded ??= bind();
  return loaded;
}

function bind(): PipeClientApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.IPC_CLOSED, `the agent's pipe is Windows'; cannot open it on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const k32 = koffi.load('kernel32.dll');
  const adv = koffi.load('advapi32.dll');
  const libuv = loadLibuvApi();
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as Fn;
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  const CreateFileW = f(
    k32,
    'intptr_t __stdcall CreateFileW(str16 name, uint32_t access, uint32_t share, void *sa, uint32_t disposition, uint32_t flags, intptr_t template)',
  );
  const CloseHandle = f(k32, 'int __stdcall CloseHandle(intptr_t h)');
  const LocalFree = f(k32, 'void * __stdcall LocalFree(void *mem)');
  const GetServerPid = f(k32, 'int __stdcall GetNamedPipeServerProcessId(intptr_t h, _Out_ uint32_t *pid)');
  const OpenProcess = f(k32, 'intptr_t __stdcall OpenProcess(uint32_t access, int inherit, uint32_t pid)');
  const GetSecurityInfo = f(
    adv,
    'uint32_t __stdcall GetSecurityInfo(intptr_t h, int type, uint32_t info, _Out_ void **owner, void *group, void *dacl, void *sacl, _Out_ void **sd)',
  );
  const OpenProcessToken = f(adv, 'int __stdcall OpenProcessToken(intptr_t p, uint32_t access, _Out_ intptr_t *token)');
  const { sidText, tokenUser } = loadTokenApi();

  const fail = <T>(): Win32<T> => ({ ok: false, error: GetLastError() as number });
  return {
    createFile(name, access, flags) {
      const OPEN_EXISTING = 3;
      const h = CreateFileW(name, access, 0, null, OPEN_EXISTING, flags, 0) as number;
      return h === -1 ? fail() : { ok: true, value: h };
    },
    pipeOwner(pipe) {
      const SE_KERNEL_OBJECT = 6;
      const OWNER_SECURITY_INFORMATION = 0x1;
      const owner: unknown[] = [null];
      const sd: unknown[] = [null];
      const rc = GetSecurityInfo(
        pipe,
        SE_KERNEL_OBJECT,
        OWNER_SECURITY_INFORMATION,
        owner,
        null,
        null,
        null,
        sd,
      ) as number;
      if (rc !== 0) return { ok: false, error: rc };
      try {
        return sidText(owner[0]);
      } finally {
        LocalFree(sd[0]);
      }
    },
    serverProcessId(pipe) {
      const pid = [0];
      return GetServerPid(pipe, pid) ? { ok: true, value: pid[0]! } : fail();
    },
    processUser(pid) {
      const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
      const TOKEN_QUERY = 0x8;
      const process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) as number;
      if (!process) return fail();
      try {
        const token = [0];
        if (!OpenProcessToken(process, TOKEN_QUERY, token)) return fail();
        try {
          return tokenUser(token[0]!);
        } finally {
          CloseHandle(token[0]);
        }
      } finally {
        CloseHandle(process);
      }
    },
    closeHandle: (h) => void CloseHandle(h),
    adoptHandle: (h) => libuv.adoptHandle(h),
  };
}
