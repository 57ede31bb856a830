/**
 * The calls behind Windows's console user (console-user-windows.ts), as an interface of its own:
 * tests pass a fake that records every call and answers with the error codes the API documents;
 * {@link loadWtsApi} binds the real ones through koffi, on Windows only.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** A call's value, or the Win32 error it failed with. */
export type Win32<T> = { ok: true; value: T } | { ok: false; error: number };

/** The calls that name the console session's user. */
export interface WtsApi {
  /** WTSGetActiveConsoleSessionId: 0xFFFFFFFF while no session is attached to the console. */
  activeConsoleSessionId(): number;
  /**
   * WTSQueryUserToken(session) + GetTokenInformation(TokenUser), the token closed: the SID of the
   * user logged on in that session. Needs SeTcbPrivilege (LocalSystem).
   */
  sessionUser(session: number): Win32<string>;
}

let loaded: WtsApi | undefined;

/** Binds kernel32, wtsapi32 and advapi32 through koffi, once per process; fails (typed) anywhere but Windows. */
export function loadWtsApi(): WtsApi {
  loaded ??= bind();
  return loaded;
}

function bind(): WtsApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.INTERNAL, `the console session API cannot be bound on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const k32 = koffi.load('kernel32.dll');
  const wts = koffi.load('wtsapi32.dll');
  const adv = koffi.load('advapi32.dll');
  type Fn = (...args: unknown[]) => unknown;
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as Fn;
  const SAA = koffi.struct('TANDEM_AGENT_WTS_SID_AND_ATTRIBUTES', { sid: 'void *', attributes: 'uint32_t' });
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  const CloseHandle = f(k32, 'int __stdcall CloseHandle(intptr_t h)');
  const LocalFree = f(k32, 'void * __stdcall LocalFree(void *mem)');
  const ActiveSession = f(k32, 'uint32_t __stdcall WTSGetActiveConsoleSessionId()');
  const QueryUserToken = f(wts, 'int __stdcall WTSQueryUserToken(uint32_t session, _Out_ intptr_t *token)');
  const GetTokenInformation = f(
    adv,
    'int __stdcall GetTokenInformation(intptr_t token, int cls, void *buf, uint32_t len, _Out_ uint32_t *ret)',
  );
  const SidToString = f(adv, 'int __stdcall ConvertSidToStringSidW(void *sid, _Out_ void **text)');
  const fail = <T>(): Win32<T> => ({ ok: false, error: GetLastError() as number });
  return {
    activeConsoleSessionId: () => ActiveSession() as number,
    sessionUser(session) {
      const token = [0];
      if (!QueryUserToken(session, token)) return fail();
      try {
        const need = [0];
        GetTokenInformation(token[0], 1, null, 0, need);
        if (!need[0]) return fail();
        const mem = koffi.alloc('uint8_t', need[0]);
        try {
          if (!GetTokenInformation(token[0], 1, mem, need[0], need)) return fail();
          const text: unknown[] = [null];
          if (!SidToString((koffi.decode(mem, SAA) as { sid: unknown }).sid, text)) return fail();
          const sid = koffi.decode(text[0], 'str16') as string;
          LocalFree(text[0]);
          return { ok: true, value: sid };
        } finally {
          koffi.free(mem);
        }
      } finally {
        CloseHandle(token[0]);
      }
    },
  };
}
