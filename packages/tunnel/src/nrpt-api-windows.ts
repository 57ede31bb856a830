/**
 * The C functions the NRPT module (nrpt-windows.ts) calls — advapi32's registry functions on
 * HKEY_LOCAL_MACHINE, userenv's policy refresh and dnsapi's cache flush — as an interface, and
 * {@link loadNrptApi}, which binds them through koffi on Windows. Methods return the Win32 status
 * unchanged; what it means is decided by the caller.
 */
import { createRequire } from 'node:module';

/** A registry value as the NRPT writes them. */
export type RegistryValue =
  { type: 'REG_SZ'; data: string } | { type: 'REG_MULTI_SZ'; data: string[] } | { type: 'REG_DWORD'; data: number };

/** The functions, one method per C function. Keys are handles returned by RegCreateKeyExW. */
export interface NrptApi {
  /** RegCreateKeyExW under HKEY_LOCAL_MACHINE (64-bit view, KEY_SET_VALUE); a volatile key is gone after a reboot. */
  RegCreateKeyExW(subKey: string, volatile: boolean): { status: number; key: bigint };
  RegSetValueExW(key: bigint, name: string, value: RegistryValue): number;
  RegCloseKey(key: bigint): number;
  /** RegDeleteKeyExW under HKEY_LOCAL_MACHINE (64-bit view): removes a key that has no subkeys. */
  RegDeleteKeyExW(subKey: string): number;
  /** RefreshPolicyEx(TRUE, RP_FORCE): 0, or GetLastError() after it returned FALSE. */
  RefreshPolicyEx(): number;
  /** DnsFlushResolverCache: true when the cache was flushed. */
  DnsFlushResolverCache(): boolean;
}

const REG_SZ = 1;
const REG_DWORD = 4;
const REG_MULTI_SZ = 7;

/** The bytes RegSetValueExW takes for a value: UTF-16LE strings with their terminators, or a DWORD. */
export function encodeRegistryValue(value: RegistryValue): { type: number; data: Buffer } {
  switch (value.type) {
    case 'REG_SZ':
      return { type: REG_SZ, data: Buffer.from(`${value.data}\0`, 'utf16le') };
    case 'REG_MULTI_SZ':
      return { type: REG_MULTI_SZ, data: Buffer.from(`${value.data.map((s) => `${s}\0`).join('')}\0`, 'utf16le') };
    case 'REG_DWORD': {
      const data = Buffer.alloc(4);
      data.writeUInt32LE(value.data);
      return { type: REG_DWORD, data };
    }
  }
}

/** `(HKEY)(ULONG_PTR)(LONG)0x80000002` as winreg.h defines it: sign-extended on 64-bit Windows. */
const HKEY_LOCAL_MACHINE = 0xffffffff80000002n;
const REG_OPTION_NON_VOLATILE = 0;
const REG_OPTION_VOLATILE = 1;
const KEY_SET_VALUE = 0x0002;
const KEY_WOW64_64KEY = 0x0100;
const RP_FORCE = 1;

type Fn = (...args: unknown[]) => number;

let bound: NrptApi | undefined;

/** Binds the functions through koffi, once per process (Windows only). */
export function loadNrptApi(): NrptApi {
  bound ??= bind();
  return bound;
}

function bind(): NrptApi {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const advapi = koffi.load('advapi32.dll');
  const reg = (sig: string): Fn => advapi.func(sig) as Fn;
  const create = reg(
    'int32_t __stdcall RegCreateKeyExW(uintptr_t key, const char16_t *subKey, uint32_t reserved, const char16_t *cls, uint32_t options, uint32_t sam, void *security, void *result, void *disposition)',
  );
  const setValue = reg(
    'int32_t __stdcall RegSetValueExW(uintptr_t key, const char16_t *name, uint32_t reserved, uint32_t type, const void *data, uint32_t size)',
  );
  const close = reg('int32_t __stdcall RegCloseKey(uintptr_t key)');
  const remove = reg(
    'int32_t __stdcall RegDeleteKeyExW(uintptr_t key, const char16_t *subKey, uint32_t sam, uint32_t reserved)',
  );
  const refresh = koffi.load('userenv.dll').func('int __stdcall RefreshPolicyEx(int machine, uint32_t options)') as Fn;
  const lastError = koffi.load('kernel32.dll').func('uint32_t __stdcall GetLastError()') as Fn;
  const flush = koffi.load('dnsapi.dll').func('int __stdcall DnsFlushResolverCache()') as Fn;
  return {
    RegCreateKeyExW(subKey, volatile) {
      const out = new BigUint64Array(1);
      const options = volatile ? REG_OPTION_VOLATILE : REG_OPTION_NON_VOLATILE;
      const status = create(
        HKEY_LOCAL_MACHINE,
        subKey,
        0,
        null,
        options,
        KEY_SET_VALUE | KEY_WOW64_64KEY,
        null,
        out,
        null,
      );
      return { status, key: out[0] ?? 0n };
    },
    RegSetValueExW(key, name, value) {
      const { type, data } = encodeRegistryValue(value);
      return setValue(key, name, 0, type, data, data.length);
    },
    RegCloseKey: (key) => close(key),
    RegDeleteKeyExW: (subKey) => remove(HKEY_LOCAL_MACHINE, subKey, KEY_WOW64_64KEY, 0),
    RefreshPolicyEx: () => (refresh(1, RP_FORCE) ? 0 : lastError() || 1),
    DnsFlushResolverCache: () => flush() !== 0,
  };
}
