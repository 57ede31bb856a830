/**
 * The Win32 calls behind the agent's named pipe, as an interface of its own: the endpoint
 * (pipe-endpoint-windows.ts) and the reader of the client's token (peercred-windows.ts) receive
 * it, tests pass a fake that records every call and answers with the error codes the API
 * documents, and {@link loadPipeApi} binds the real ones through koffi — on Windows only.
 *
 * Handles are plain numbers (koffi `intptr_t`), so a fake needs no pointers. Every call that can
 * fail reads GetLastError on the calling thread right after the call.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import { loadLibuvApi, type Win32, type Win32Handle } from '../libuv-api-windows.js';
import { loadTokenApi, type TokenGroup } from '../token-api-windows.js';

export type { Win32, Win32Handle } from '../libuv-api-windows.js';
export type { TokenGroup } from '../token-api-windows.js';
/** A security descriptor built from SDDL; released by {@link PipeApi.freeSecurityDescriptor}. */
export interface SecurityDescriptor {
  readonly sddl: string;
}

/** Win32 error codes this code tells apart. */
export const Win32Error = {
  ACCESS_DENIED: 5,
  INVALID_HANDLE: 6,
  NO_TOKEN: 1008,
  PIPE_BUSY: 231,
  NO_DATA: 232,
  PIPE_CONNECTED: 535,
  OPERATION_ABORTED: 995,
  IO_PENDING: 997,
  BAD_IMPERSONATION_LEVEL: 1346,
  CANT_OPEN_ANONYMOUS: 1347,
  CANNOT_IMPERSONATE: 1368,
} as const;

/** The calls the named-pipe endpoint makes. */
export interface PipeApi {
  /** ConvertStringSecurityDescriptorToSecurityDescriptorW. */
  securityDescriptor(sddl: string): Win32<SecurityDescriptor>;
  /** LocalFree of a descriptor from {@link securityDescriptor}. */
  freeSecurityDescriptor(sd: SecurityDescriptor): void;
  /** CreateNamedPipeW with `sd` in a non-inheritable SECURITY_ATTRIBUTES; the same size both ways, no default timeout. */
  createNamedPipe(
    name: string,
    openMode: number,
    pipeMode: number,
    maxInstances: number,
    bufferSize: number,
    sd: SecurityDescriptor,
  ): Win32<Win32Handle>;
  /**
   * ConnectNamedPipe on an overlapped pipe, waited for off the JS thread: resolves with 0 once a
   * client is connected (ERROR_PIPE_CONNECTED counts), else the error — ERROR_OPERATION_ABORTED
   * after {@link cancelConnect}.
   */
  connectNamedPipe(pipe: Win32Handle): Promise<number>;
  /** CancelIoEx on the pipe: a pending {@link connectNamedPipe} ends. */
  cancelConnect(pipe: Win32Handle): void;
  /** GetNamedPipeClientProcessId. */
  clientProcessId(pipe: Win32Handle): Win32<number>;
  /** ImpersonateNamedPipeClient on the calling (JS) thread: 0 or the error. */
  impersonateClient(pipe: Win32Handle): number;
  /** OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, OpenAsSelf = TRUE). */
  openThreadToken(): Win32<Win32Handle>;
  /** RevertToSelf: 0 or the error. */
  revertToSelf(): number;
  /** GetTokenInformation(TokenUser), the SID as text (ConvertSidToStringSidW). */
  tokenUser(token: Win32Handle): Win32<string>;
  /** GetTokenInformation(TokenGroups), each SID as text. */
  tokenGroups(token: Win32Handle): Win32<TokenGroup[]>;
  /** DisconnectNamedPipe (the client's end breaks); errors ignored. */
  disconnect(pipe: Win32Handle): void;
  /** CloseHandle; errors ignored. */
  closeHandle(handle: Win32Handle): void;
  /**
   * `uv_open_osfhandle` of the running node binary: a C runtime descriptor for `pipe` in Node's
   * own runtime, which `new net.Socket({ fd })` adopts (the handle then belongs to Node).
   */
  adoptHandle(pipe: Win32Handle): Win32<number>;
}

type Fn = (...args: unknown[]) => unknown;
type AsyncFn = Fn & { async: (...args: unknown[]) => void };

let loaded: PipeApi | undefined;

/**
 * Binds kernel32, advapi32 and node's own libuv export (libuv-api-windows.ts) through koffi, once per process (koffi's
 * named types cannot be declared twice). Fails (typed) anywhere but Windows.
 */
export function loadPipeApi(): PipeApi {
  loaded ??= bind();
  return loaded;
}

function bind(): PipeApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.PERMISSION, `the named pipe is Windows'; cannot bind it on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const k32 = koffi.load('kernel32.dll');
  const adv = koffi.load('advapi32.dll');
  const libuv = loadLibuvApi();
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as AsyncFn;
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  const SA = koffi.struct('TANDEM_SECURITY_ATTRIBUTES', { nLength: 'uint32_t', sd: 'void *', inherit: 'int32_t' });
  const OV = koffi.struct('TANDEM_OVERLAPPED', {
    internal: 'uintptr_t',
    internalHigh: 'uintptr_t',
    offset: 'uint64_t',
    event: 'intptr_t',
  });
  const toSd = f(
    adv,
    'int __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(str16 sddl, uint32_t rev, _Out_ void **sd, void *size)',
  );
  const LocalFree = f(k32, 'void * __stdcall LocalFree(void *mem)');
  const CreateNamedPipeW = f(
    k32,
    'intptr_t __stdcall CreateNamedPipeW(str16 name, uint32_t open, uint32_t mode, uint32_t max, uint32_t out, uint32_t in, uint32_t timeout, TANDEM_SECURITY_ATTRIBUTES *sa)',
  );
  const ConnectNamedPipe = f(k32, 'int __stdcall ConnectNamedPipe(intptr_t pipe, void *ov)');
  const CreateEventW = f(k32, 'intptr_t __stdcall CreateEventW(void *sa, int manual, int initial, void *name)');
  const WaitForSingleObject = f(k32, 'uint32_t __stdcall WaitForSingleObject(intptr_t h, uint32_t ms)');
  const GetOverlappedResult = f(
    k32,
    'int __stdcall GetOverlappedResult(intptr_t h, void *ov, _Out_ uint32_t *n, int wait)',
  );
  const CancelIoEx = f(k32, 'int __stdcall CancelIoEx(intptr_t h, void *ov)');
  const CloseHandle = f(k32, 'int __stdcall CloseHandle(intptr_t h)');
  const DisconnectNamedPipe = f(k32, 'int __stdcall DisconnectNamedPipe(intptr_t h)');
  const GetClientPid = f(k32, 'int __stdcall GetNamedPipeClientProcessId(intptr_t h, _Out_ uint32_t *pid)');
  const GetCurrentThread = f(k32, 'intptr_t __stdcall GetCurrentThread()');
  const Impersonate = f(adv, 'int __stdcall ImpersonateNamedPipeClient(intptr_t h)');
  const OpenThreadToken = f(
    adv,
    'int __stdcall OpenThreadToken(intptr_t thread, uint32_t access, int self, _Out_ intptr_t *token)',
  );
  const RevertToSelf = f(adv, 'int __stdcall RevertToSelf()');
  const tokens = loadTokenApi();

  const fail = <T>(): Win32<T> => ({ ok: false, error: GetLastError() as number });
  const overlapped = new Map<Win32Handle, unknown>();
  return {
    securityDescriptor(sddl) {
      const out: unknown[] = [null];
      if (!toSd(sddl, 1, out, null)) return fail();
      return { ok: true, value: { sddl, ptr: out[0] } as SecurityDescriptor };
    },
    freeSecurityDescriptor: (sd) => void LocalFree((sd as unknown as { ptr: unknown }).ptr),
    createNamedPipe(name, openMode, pipeMode, max, size, sd) {
      const sa = { nLength: koffi.sizeof(SA), sd: (sd as unknown as { ptr: unknown }).ptr, inherit: 0 };
      const h = CreateNamedPipeW(name, openMode, pipeMode, max, size, size, 0, sa) as number;
      return h === -1 ? fail() : { ok: true, value: h };
    },
    connectNamedPipe(pipe) {
      const event = CreateEventW(null, 1, 0, null) as number;
      if (!event) return Promise.resolve(GetLastError() as number);
      // Native memory: the kernel writes the OVERLAPPED after this call returns.
      const ov = koffi.alloc(OV, 1);
      koffi.encode(ov, OV, { internal: 0, internalHigh: 0, offset: 0, event });
      const done = (code: number): number => {
        overlapped.delete(pipe);
        CloseHandle(event);
        koffi.free(ov);
        return code;
      };
      if (ConnectNamedPipe(pipe, ov)) return Promise.resolve(done(0));
      const first = GetLastError() as number;
      if (first === Win32Error.PIPE_CONNECTED) return Promise.resolve(done(0));
      if (first !== Win32Error.IO_PENDING) return Promise.resolve(done(first));
      overlapped.set(pipe, ov);
      return new Promise((resolve) => {
        // One worker thread waits per pending connect; the endpoint keeps one pending at a time.
        WaitForSingleObject.async(event, 0xffffffff, () => {
          const n = [0];
          resolve(done(GetOverlappedResult(pipe, ov, n, 0) ? 0 : (GetLastError() as number)));
        });
      });
    },
    cancelConnect: (pipe) => void CancelIoEx(pipe, overlapped.get(pipe) ?? null),
    clientProcessId(pipe) {
      const pid = [0];
      return GetClientPid(pipe, pid) ? { ok: true, value: pid[0]! } : fail();
    },
    impersonateClient: (pipe) => (Impersonate(pipe) ? 0 : (GetLastError() as number)),
    openThreadToken() {
      const token = [0];
      const TOKEN_QUERY = 0x0008;
      return OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, 1, token) ? { ok: true, value: token[0]! } : fail();
    },
    revertToSelf: () => (RevertToSelf() ? 0 : (GetLastError() as number)),
    tokenUser: (token) => tokens.tokenUser(token),
    tokenGroups: (token) => tokens.tokenGroups(token),
    disconnect: (pipe) => void DisconnectNamedPipe(pipe),
    closeHandle: (h) => void CloseHandle(h),
    adoptHandle: (pipe) => libuv.adoptHandle(pipe),
  };
}
