/**
 * Reading Windows access tokens and SIDs (advapi32), as both ends of the agent's named pipe need
 * it: the server reads its client's user and groups, the client its server's user and the pipe's
 * owner. Bound once per process (koffi's named types are process-wide), shared like
 * libuv-api-windows.ts by the server and client halves, which may not import each other.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { Win32, Win32Handle } from './libuv-api-windows.js';

/** One entry of TOKEN_GROUPS. */
export interface TokenGroup {
  sid: string;
  attributes: number;
}

/** The token and SID calls both pipe ends make. */
export interface TokenApi {
  /** ConvertSidToStringSidW (+ LocalFree): `S-1-…` for the SID at `sid`, or the Win32 error. */
  sidText(sid: unknown): Win32<string>;
  /** GetTokenInformation(TokenUser): the token's user SID. */
  tokenUser(token: Win32Handle): Win32<string>;
  /** GetTokenInformation(TokenGroups): every group SID with its attributes. */
  tokenGroups(token: Win32Handle): Win32<TokenGroup[]>;
}

type Fn = (...args: unknown[]) => unknown;

let loaded: TokenApi | undefined;

/** Binds advapi32's token calls through koffi, once per process; fails (typed) anywhere but Windows. */
export function loadTokenApi(): TokenApi {
  loaded ??= bind();
  return loaded;
}

function bind(): TokenApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.PERMISSION, `access tokens are Windows'; cannot read them on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const k32 = koffi.load('kernel32.dll');
  const adv = koffi.load('advapi32.dll');
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as Fn;
  const SAA = koffi.struct('TANDEM_SID_AND_ATTRIBUTES', { sid: 'void *', attributes: 'uint32_t' });
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  const LocalFree = f(k32, 'void * __stdcall LocalFree(void *mem)');
  const GetTokenInformation = f(
    adv,
    'int __stdcall GetTokenInformation(intptr_t token, int cls, void *buf, uint32_t len, _Out_ uint32_t *ret)',
  );
  const SidToString = f(adv, 'int __stdcall ConvertSidToStringSidW(void *sid, _Out_ void **text)');

  const fail = <T>(): Win32<T> => ({ ok: false, error: GetLastError() as number });
  const sidText = (sid: unknown): Win32<string> => {
    const out: unknown[] = [null];
    if (!SidToString(sid, out)) return fail();
    const text = koffi.decode(out[0], 'str16') as string;
    LocalFree(out[0]);
    return { ok: true, value: text };
  };
  /** GetTokenInformation into native memory sized by a first probing call; `read` decodes it. */
  const tokenInfo = <T>(token: Win32Handle, cls: number, read: (mem: unknown) => Win32<T>): Win32<T> => {
    const need = [0];
    GetTokenInformation(token, cls, null, 0, need);
    if (!need[0]) return fail();
    const mem = koffi.alloc('uint8_t', need[0]);
    try {
      if (!GetTokenInformation(token, cls, mem, need[0], need)) return fail();
      return read(mem);
    } finally {
      koffi.free(mem);
    }
  };
  const TOKEN_USER = 1;
  const TOKEN_GROUPS = 2;
  return {
    sidText,
    tokenUser: (token) =>
      tokenInfo(token, TOKEN_USER, (mem) => sidText((koffi.decode(mem, SAA) as { sid: unknown }).sid)),
    tokenGroups: (token) =>
      tokenInfo(token, TOKEN_GROUPS, (mem) => {
        const count = koffi.decode(mem, 'uint32_t') as number;
        // TOKEN_GROUPS: a DWORD count, then the array at pointer alignment.
        const groups = koffi.decode(mem, 8, SAA, count) as Array<{ sid: unknown; attributes: number }>;
        const out: TokenGroup[] = [];
        for (const g of groups) {
          const sid = sidText(g.sid);
          if (!sid.ok) return sid;
          out.push({ sid: sid.value, attributes: g.attributes });
        }
        return { ok: true, value: out };
      }),
  };
}
