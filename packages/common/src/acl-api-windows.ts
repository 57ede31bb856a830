/**
 * The advapi32/kernel32 calls behind the Windows private-path policy, as an interface of its own:
 * private-path-windows.ts receives it, tests pass a fake that records every call and answers with
 * the error codes the API documents, and {@link loadAclApi} binds the real ones through koffi —
 * on Windows only.
 *
 * SIDs cross the interface as text (`S-1-5-18`), decoded here from the SID bytes the API returns,
 * and a DACL as its entries in order, so the rules (acl-check-windows.ts) are plain TypeScript.
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from './errors.js';

/** A call's value, or the Win32 error it failed with. */
export type Win32<T> = { ok: true; value: T } | { ok: false; error: number };

/** One access control entry of a DACL: ACE_HEADER's type and flags, the access mask, the trustee. */
export interface Ace {
  type: number;
  flags: number;
  mask: number;
  /** The trustee as text; empty for an ACE type whose SID this code does not decode. */
  sid: string;
}

/** The owner and the DACL of a file or directory; `dacl` null is a NULL DACL (everyone: full access). */
export interface SecurityInfo {
  owner: string;
  dacl: Ace[] | null;
}

/** The calls the Windows private-path policy makes. */
export interface AclApi {
  /** GetNamedSecurityInfoW(path, SE_FILE_OBJECT, OWNER | DACL). */
  pathSecurity(path: string): Win32<SecurityInfo>;
  /** GetSecurityInfo on the HANDLE behind a descriptor of Node's (node.exe's `uv_get_osfhandle`). */
  fdSecurity(fd: number): Win32<SecurityInfo>;
  /** CreateDirectoryW with the security descriptor of `sddl` (not inheritable): 0 or the Win32 error. */
  createDirectory(path: string, sddl: string): number;
  /** This process's user SID: OpenProcessToken(TOKEN_QUERY) + GetTokenInformation(TokenUser). */
  processUserSid(): Win32<string>;
}

/**
 * A binary SID as text, as ConvertSidToStringSidW writes it: `S-1-<authority>-<sub>…`, the
 * authority in decimal below 2^32 and in hex above. Throws (typed) on bytes that are no SID.
 */
export function sidFromBytes(bytes: ArrayLike<number>): string {
  const count = bytes[1] ?? 0;
  if (bytes[0] !== 1 || count > 15 || bytes.length < 8 + 4 * count)
    throw new TandemError(ErrorCodes.INTERNAL, 'malformed SID in a security descriptor');
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + (bytes[i] ?? 0);
  const parts = [
    authority < 2 ** 32 ? String(authority) : `0x${authority.toString(16).toUpperCase().padStart(12, '0')}`,
  ];
  for (let i = 0; i < count; i++) {
    const o = 8 + 4 * i;
    parts.push(String((bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16)) + bytes[o + 3]! * 2 ** 24));
  }
  return `S-1-${parts.join('-')}`;
}

/** ACE types whose trustee SID follows the mask directly (allowed, denied and their callback forms). */
const SID_AT_8 = new Set([0, 1, 9, 10]);

let loaded: AclApi | undefined;

/** Binds advapi32, kernel32 and node's own libuv export through koffi, once per process; fails (typed) off Windows. */
export function loadAclApi(): AclApi {
  loaded ??= bind();
  return loaded;
}

function bind(): AclApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.INTERNAL, `the Windows ACL calls cannot be bound on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const adv = koffi.load('advapi32.dll');
  const k32 = koffi.load('kernel32.dll');
  // node.exe exports libuv: its descriptors are its own C runtime's, so only it can map them to HANDLEs.
  const self = koffi.load(null);
  type Fn = (...args: unknown[]) => unknown;
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as Fn;
  // Names of their own: koffi's named types are process-wide, and ipc declares its SECURITY_ATTRIBUTES too.
  const SA = koffi.struct('TANDEM_COMMON_SECURITY_ATTRIBUTES', {
    nLength: 'uint32_t',
    sd: 'void *',
    inherit: 'int32_t',
  });
  const SIZE = koffi.struct('TANDEM_COMMON_ACL_SIZE_INFORMATION', {
    count: 'uint32_t',
    used: 'uint32_t',
    free: 'uint32_t',
  });
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  const LocalFree = f(k32, 'void * __stdcall LocalFree(void *mem)');
  const CloseHandle = f(k32, 'int __stdcall CloseHandle(intptr_t h)');
  const GetCurrentProcess = f(k32, 'intptr_t __stdcall GetCurrentProcess()');
  const CreateDirectoryW = f(k32, 'int __stdcall CreateDirectoryW(str16 path, TANDEM_COMMON_SECURITY_ATTRIBUTES *sa)');
  const GetNamedSecurityInfoW = f(
    adv,
    'uint32_t __stdcall GetNamedSecurityInfoW(str16 name, int type, uint32_t info, _Out_ void **owner, void *group, _Out_ void **dacl, void *sacl, _Out_ void **sd)',
  );
  const GetSecurityInfo = f(
    adv,
    'uint32_t __stdcall GetSecurityInfo(intptr_t h, int type, uint32_t info, _Out_ void **owner, void *group, _Out_ void **dacl, void *sacl, _Out_ void **sd)',
  );
  const GetAclInformation = f(
    adv,
    'int __stdcall GetAclInformation(void *acl, _Out_ TANDEM_COMMON_ACL_SIZE_INFORMATION *info, uint32_t len, int cls)',
  );
  const GetAce = f(adv, 'int __stdcall GetAce(void *acl, uint32_t index, _Out_ void **ace)');
  const toSd = f(
    adv,
    'int __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(str16 sddl, uint32_t rev, _Out_ void **sd, void *size)',
  );
  const OpenProcessToken = f(adv, 'int __stdcall OpenProcessToken(intptr_t p, uint32_t access, _Out_ intptr_t *token)');
  const GetTokenInformation = f(
    adv,
    'int __stdcall GetTokenInformation(intptr_t token, int cls, void *buf, uint32_t len, _Out_ uint32_t *ret)',
  );
  const getOsfHandle = f(self, 'intptr_t uv_get_osfhandle(int fd)');

  const SE_FILE_OBJECT = 1;
  const OWNER_AND_DACL = 0x1 | 0x4;
  const bytes = (ptr: unknown, offset: number, n: number): number[] =>
    Array.from(koffi.decode(ptr, offset, 'uint8_t', n) as ArrayLike<number>);
  const sidAt = (ptr: unknown, offset: number): string => {
    const count = bytes(ptr, offset + 1, 1)[0] ?? 0;
    return sidFromBytes(bytes(ptr, offset, 8 + 4 * Math.min(count, 15)));
  };
  const readAcl = (acl: unknown): Ace[] | null => {
    // NULL (null or 0n): a NULL DACL, which grants everyone everything.
    if (!acl) return null;
    const info: { count?: number } = {};
    if (!GetAclInformation(acl, info, koffi.sizeof(SIZE), 2)) throw new Error('GetAclInformation');
    const aces: Ace[] = [];
    for (let i = 0; i < (info.count ?? 0); i++) {
      const out: unknown[] = [null];
      if (!GetAce(acl, i, out)) throw new Error('GetAce');
      const [type = 0, flags = 0] = bytes(out[0], 0, 2);
      const mask = koffi.decode(out[0], 4, 'uint32_t') as number;
      aces.push({ type, flags, mask, sid: SID_AT_8.has(type) ? sidAt(out[0], 8) : '' });
    }
    return aces;
  };
  /** Owner and DACL from one Get*SecurityInfo call; the descriptor is freed here. */
  const security = (call: (owner: unknown[], dacl: unknown[], sd: unknown[]) => number): Win32<SecurityInfo> => {
    const owner: unknown[] = [null];
    const dacl: unknown[] = [null];
    const sd: unknown[] = [null];
    const rc = call(owner, dacl, sd);
    if (rc !== 0) return { ok: false, error: rc };
    try {
      return { ok: true, value: { owner: sidAt(owner[0], 0), dacl: readAcl(dacl[0]) } };
    } catch {
      return { ok: false, error: GetLastError() as number };
    } finally {
      LocalFree(sd[0]);
    }
  };
  return {
    pathSecurity: (path) =>
      security((o, d, s) => GetNamedSecurityInfoW(path, SE_FILE_OBJECT, OWNER_AND_DACL, o, null, d, null, s) as number),
    fdSecurity(fd) {
      const handle = getOsfHandle(fd) as number;
      // INVALID_HANDLE_VALUE: not an open descriptor.
      if (handle === -1) return { ok: false, error: 6 };
      return security(
        (o, d, s) => GetSecurityInfo(handle, SE_FILE_OBJECT, OWNER_AND_DACL, o, null, d, null, s) as number,
      );
    },
    createDirectory(path, sddl) {
      const sd: unknown[] = [null];
      if (!toSd(sddl, 1, sd, null)) return GetLastError() as number;
      try {
        return CreateDirectoryW(path, { nLength: koffi.sizeof(SA), sd: sd[0], inherit: 0 })
          ? 0
          : (GetLastError() as number);
      } finally {
        LocalFree(sd[0]);
      }
    },
    processUserSid() {
      const token = [0];
      const TOKEN_QUERY = 0x8;
      if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, token))
        return { ok: false, error: GetLastError() as number };
      try {
        const need = [0];
        GetTokenInformation(token[0], 1, null, 0, need);
        if (!need[0]) return { ok: false, error: GetLastError() as number };
        const mem = koffi.alloc('uint8_t', need[0]);
        try {
          if (!GetTokenInformation(token[0], 1, mem, need[0], need))
            return { ok: false, error: GetLastError() as number };
          // TOKEN_USER: a SID_AND_ATTRIBUTES whose first member points at the SID.
          return { ok: true, value: sidAt(koffi.decode(mem, 'void *'), 0) };
        } finally {
          koffi.free(mem);
        }
      } finally {
        CloseHandle(token[0]);
      }
    },
  };
}
