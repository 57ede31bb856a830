/**
 * The Wintun and kernel32 calls the Windows TUN backend makes (tun-windows.ts), as an interface
 * the backend receives, and {@link loadWintunApi}, which binds them through koffi on Windows.
 * Unit tests pass a fake that records calls instead; nothing here runs on Linux.
 *
 * `wintun.dll` comes from the official signed distribution (wintun.zip from wintun.net, the
 * build for the machine's architecture) and the installer puts it next to the agent's
 * executable. It is loaded from there by absolute path only, never through the DLL search path
 * (a DLL planted in the working directory or on PATH must not be picked up), and its own
 * dependencies are resolved from its directory and System32 only.
 *
 * Waiting for packets: Wintun signals an event handle; a WaitForMultipleObjects on it would
 * block, so {@link WintunApi.waitForAny} runs it as a koffi async call on the libuv threadpool
 * and resolves when it returns. A worker thread would also work but costs a second V8 isolate
 * and a second koffi instance for one blocking call; the pool thread it takes instead is held
 * only while a tunnel is up and idle (one of the four: the Windows entry point may raise
 * UV_THREADPOOL_SIZE). The wait also watches a cancel event of ours, so closing never has to
 * pull the session's event out from under a waiting thread.
 */
import { createRequire } from 'node:module';
import { dirname, win32 } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';

/** An adapter handle (`WINTUN_ADAPTER_HANDLE`). */
export type WintunAdapter = bigint & { readonly __wintun: 'adapter' };
/** A session handle (`WINTUN_SESSION_HANDLE`). */
export type WintunSession = bigint & { readonly __wintun: 'session' };
/** A kernel object handle (`HANDLE`): the session's read event, our cancel event. */
export type Win32Handle = bigint & { readonly __wintun: 'handle' };
/** A pointer to packet memory inside a Wintun ring. */
export type PacketPointer = bigint & { readonly __wintun: 'packet' };

/** The Win32 error codes the backend tells apart (winerror.h). */
export const Win32Error = {
  FILE_NOT_FOUND: 2,
  ACCESS_DENIED: 5,
  INVALID_DATA: 13,
  HANDLE_EOF: 38,
  INVALID_PARAMETER: 87,
  BUFFER_OVERFLOW: 111,
  MOD_NOT_FOUND: 126,
  PROC_NOT_FOUND: 127,
  ALREADY_EXISTS: 183,
  NO_MORE_ITEMS: 259,
} as const;

/** WaitForMultipleObjects results and its INFINITE timeout. */
export const WaitResult = { OBJECT_0: 0, TIMEOUT: 0x102, FAILED: 0xffffffff, INFINITE: 0xffffffff } as const;

/** The calls, named and shaped as in wintun.h and kernel32; null stands for a NULL handle or pointer. */
export interface WintunApi {
  /** `guid` is the 16 bytes of a GUID struct (see `guidBytes`), or null for a random one. */
  WintunCreateAdapter(name: string, tunnelType: string, guid: Uint8Array | null): WintunAdapter | null;
  WintunOpenAdapter(name: string): WintunAdapter | null;
  /** Releases the handle; removes the adapter if this handle created it. */
  WintunCloseAdapter(adapter: WintunAdapter): void;
  WintunGetAdapterLUID(adapter: WintunAdapter): bigint;
  /** `capacity`: ring bytes, a power of two from 128 KiB to 64 MiB. */
  WintunStartSession(adapter: WintunAdapter, capacity: number): WintunSession | null;
  WintunEndSession(session: WintunSession): void;
  /** The session's event; the session owns it (never CloseHandle it). */
  WintunGetReadWaitEvent(session: WintunSession): Win32Handle;
  /** `size[0]` receives the packet's length. */
  WintunReceivePacket(session: WintunSession, size: Uint32Array): PacketPointer | null;
  WintunReleaseReceivePacket(session: WintunSession, packet: PacketPointer): void;
  WintunAllocateSendPacket(session: WintunSession, size: number): PacketPointer | null;
  WintunSendPacket(session: WintunSession, packet: PacketPointer): void;
  /** The calling thread's last error, as the previous call left it. */
  GetLastError(): number;
  /** An unnamed auto-reset event, initially unset. */
  CreateEventW(): Win32Handle | null;
  SetEvent(event: Win32Handle): boolean;
  CloseHandle(handle: Win32Handle): boolean;
  /**
   * WaitForMultipleObjects(handles, any, timeout) off the JS thread; `error` is GetLastError
   * when `result` is {@link WaitResult.FAILED}, else 0.
   */
  waitForAny(handles: readonly Win32Handle[], timeoutMs: number): Promise<{ result: number; error: number }>;
  /** A view of `length` bytes of ring memory at `pointer`, valid until the packet is released or sent. */
  view(pointer: PacketPointer, length: number): Uint8Array;
}

/** Where the installer puts wintun.dll: beside the executable that runs the agent. */
export function defaultWintunPath(execPath = process.execPath): string {
  return win32.join(dirname(execPath), 'wintun.dll');
}

/** LoadLibraryExW flags: dependencies from the DLL's own directory and System32, nothing else. */
const LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR = 0x100;
const LOAD_LIBRARY_SEARCH_SYSTEM32 = 0x800;

type Fn = (...args: unknown[]) => unknown;
type AsyncFn = Fn & { async: (...args: unknown[]) => void };
const handle = <T>(p: unknown): T | null => (p ? (p as T) : null);

/** Binds wintun.dll (by absolute path) and kernel32 through koffi; Windows only. */
export function loadWintunApi(dllPath = defaultWintunPath()): WintunApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.TUN, `Wintun is Windows-only (platform ${process.platform})`);
  if (!win32.isAbsolute(dllPath))
    throw new TandemError(ErrorCodes.TUN, `wintun.dll must be loaded by absolute path, not ${JSON.stringify(dllPath)}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const k32 = koffi.load('kernel32.dll');
  const f = (lib: ReturnType<typeof koffi.load>, decl: string) => lib.func(decl) as unknown as AsyncFn;
  const GetLastError = f(k32, 'uint32_t __stdcall GetLastError()');
  // Pins the module with a safe dependency search; koffi.load below then gets the same module.
  const LoadLibraryExW = f(k32, 'void * __stdcall LoadLibraryExW(str16 path, void *file, uint32_t flags)');
  if (!LoadLibraryExW(dllPath, null, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32)) {
    const code = GetLastError() as number;
    throw new TandemError(ErrorCodes.TUN, `LoadLibraryExW ${dllPath} failed: Win32 error ${code}`, {
      details: { call: 'LoadLibraryExW', win32Error: code, path: dllPath },
    });
  }
  let w: ReturnType<typeof koffi.load>;
  const bound: Record<string, AsyncFn> = {};
  try {
    w = koffi.load(dllPath);
    for (const decl of [
      'void * __stdcall WintunCreateAdapter(str16 name, str16 tunnelType, const uint8_t *guid)',
      'void * __stdcall WintunOpenAdapter(str16 name)',
      'void __stdcall WintunCloseAdapter(void *adapter)',
      'void __stdcall WintunGetAdapterLUID(void *adapter, _Out_ uint64_t *luid)',
      'void * __stdcall WintunStartSession(void *adapter, uint32_t capacity)',
      'void __stdcall WintunEndSession(void *session)',
      'void * __stdcall WintunGetReadWaitEvent(void *session)',
      'void * __stdcall WintunReceivePacket(void *session, _Out_ uint32_t *size)',
      'void __stdcall WintunReleaseReceivePacket(void *session, void *packet)',
      'void * __stdcall WintunAllocateSendPacket(void *session, uint32_t size)',
      'void __stdcall WintunSendPacket(void *session, void *packet)',
    ]) {
      bound[/(Wintun\w+)\(/.exec(decl)![1]!] = f(w, decl);
    }
  } catch (err) {
    throw new TandemError(ErrorCodes.TUN, `${dllPath} is not a usable wintun.dll: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const b = bound as Record<string, Fn>;
  const CreateEventW = f(
    k32,
    'void * __stdcall CreateEventW(void *attributes, int manualReset, int initial, str16 name)',
  );
  const SetEvent = f(k32, 'int __stdcall SetEvent(void *event)');
  const CloseHandle = f(k32, 'int __stdcall CloseHandle(void *handle)');
  // HANDLE is 8 bytes on every Windows Node 24 runs on (x64, arm64).
  const WaitForMultipleObjects = f(
    k32,
    'uint32_t __stdcall WaitForMultipleObjects(uint32_t count, const uint64_t *handles, int waitAll, uint32_t ms)',
  );
  return {
    WintunCreateAdapter: (name, type, guid) => handle(b.WintunCreateAdapter!(name, type, guid)),
    WintunOpenAdapter: (name) => handle(b.WintunOpenAdapter!(name)),
    WintunCloseAdapter: (adapter) => void b.WintunCloseAdapter!(adapter),
    WintunGetAdapterLUID: (adapter) => {
      const luid = new BigUint64Array(1);
      b.WintunGetAdapterLUID!(adapter, luid);
      return luid[0]!;
    },
    WintunStartSession: (adapter, capacity) => handle(b.WintunStartSession!(adapter, capacity)),
    WintunEndSession: (session) => void b.WintunEndSession!(session),
    WintunGetReadWaitEvent: (session) => b.WintunGetReadWaitEvent!(session) as Win32Handle,
    WintunReceivePacket: (session, size) => handle(b.WintunReceivePacket!(session, size)),
    WintunReleaseReceivePacket: (session, packet) => void b.WintunReleaseReceivePacket!(session, packet),
    WintunAllocateSendPacket: (session, size) => handle(b.WintunAllocateSendPacket!(session, size)),
    WintunSendPacket: (session, packet) => void b.WintunSendPacket!(session, packet),
    GetLastError: () => GetLastError() as number,
    CreateEventW: () => handle(CreateEventW(null, 0, 0, null)),
    SetEvent: (event) => SetEvent(event) !== 0,
    CloseHandle: (h) => CloseHandle(h) !== 0,
    waitForAny: (handles, timeoutMs) =>
      new Promise((resolve, reject) => {
        // Kept referenced until the call returns: the worker thread reads it.
        const list = BigUint64Array.from(handles);
        WaitForMultipleObjects.async(list.length, list, 0, timeoutMs, (err: unknown, result: number) => {
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve({ result, error: result === WaitResult.FAILED ? (GetLastError() as number) : 0 });
        });
      }),
    view: (pointer, length) => new Uint8Array(koffi.view(pointer, length)),
  };
}
