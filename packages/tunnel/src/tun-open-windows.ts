/**
 * Opening a Wintun adapter for the Windows TUN device (tun-windows.ts): the adapter name, its
 * GUID, the ring capacity, the create → LUID → session → read event → cancel event sequence with
 * its undo, and the typed error every failed Win32 call becomes.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import {
  Win32Error,
  type WintunAdapter,
  type WintunApi,
  type WintunSession,
  type Win32Handle,
} from './wintun-api-windows.js';

/** Shown as the adapter's tunnel type in Windows. */
export const WINTUN_TUNNEL_TYPE = 'Tandem';
/** The adapter name when none (or a Linux-style `%d` pattern) is asked for. */
export const WINTUN_DEFAULT_NAME = 'Tandem';
/** Generated once for Tandem; a stable GUID keeps Windows from creating a new network per connect. */
export const TANDEM_ADAPTER_GUID = '{8A3D6F1E-5B2C-4E79-9D41-0C7E2A6B93F5}';
const MIN_RING = 0x20000;
const MAX_RING = 0x4000000;

const WIN32_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Win32Error).map(([name, code]) => [code, `ERROR_${name}`]),
);

/** A failed Win32/Wintun call as E_TUN, naming the call and the code (`what` says what it means here). */
export function win32Failure(call: string, code: number, what?: string): TandemError {
  const name = WIN32_NAMES[code];
  return new TandemError(
    ErrorCodes.TUN,
    `${call} failed: Win32 error ${code}${name ? ` (${name})` : ''}${what ? `: ${what}` : ''}`,
    { details: { call, win32Error: code } },
  );
}

/** The adapter name for a requested one: Linux-style patterns and no name give "Tandem". */
export function adapterName(requested: string | undefined): string {
  if (requested === undefined || requested.includes('%')) return WINTUN_DEFAULT_NAME;
  // MAX_ADAPTER_NAME is 128 UTF-16 units with the terminator.
  if (requested.length === 0 || requested.length > 127 || [...requested].some((c) => c.charCodeAt(0) < 0x20))
    throw new TandemError(ErrorCodes.TUN, `invalid Wintun adapter name ${JSON.stringify(requested)}`);
  return requested;
}

/** A GUID string as the 16 bytes of a GUID struct (Data1..3 little-endian, Data4 as written). */
export function guidBytes(guid: string): Uint8Array {
  const m = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i.exec(guid);
  if (!m) throw new TandemError(ErrorCodes.TUN, `invalid adapter GUID ${JSON.stringify(guid)}`);
  const out = Buffer.alloc(16);
  out.writeUInt32LE(parseInt(m[1]!, 16), 0);
  out.writeUInt16LE(parseInt(m[2]!, 16), 4);
  out.writeUInt16LE(parseInt(m[3]!, 16), 6);
  Buffer.from(m[4]! + m[5]!, 'hex').copy(out, 8);
  return out;
}

function ringCapacity(bytes = 0x400000): number {
  if (bytes < MIN_RING || bytes > MAX_RING || (bytes & (bytes - 1)) !== 0)
    throw new TandemError(ErrorCodes.TUN, `Wintun ring capacity ${bytes} is not a power of two from 128 KiB to 64 MiB`);
  return bytes;
}

/** What opening asks for. */
export interface WintunOpenRequest {
  /** Ring bytes per direction: a power of two from 128 KiB to 64 MiB; default 4 MiB. */
  ringCapacity?: number;
  /** The adapter's GUID; default {@link TANDEM_ADAPTER_GUID}. */
  guid?: string;
}

/** The OS objects one open adapter and session consist of. */
export interface WintunHandles {
  name: string;
  /** The adapter's NET_LUID, which the IP Helper calls take for routes and addresses. */
  luid: bigint;
  adapter: WintunAdapter;
  session: WintunSession;
  /** The session's; never closed by us. */
  readEvent: Win32Handle;
  /** Ours: set on close to wake a waiting thread. */
  cancelEvent: Win32Handle;
}

/**
 * Creates the adapter (or reopens one of that name left behind), starts a session and makes the
 * cancel event; whatever was made is undone, in reverse, if a later step fails. Names and
 * capacity are checked before any call.
 */
export function openWintun(api: WintunApi, requested: string | undefined, o: WintunOpenRequest = {}): WintunHandles {
  const name = adapterName(requested);
  const capacity = ringCapacity(o.ringCapacity);
  const guid = guidBytes(o.guid ?? TANDEM_ADAPTER_GUID);
  const undo: Array<() => void> = [];
  try {
    let adapter = api.WintunCreateAdapter(name, WINTUN_TUNNEL_TYPE, guid);
    if (!adapter) {
      const code = api.GetLastError();
      if (code === Win32Error.ALREADY_EXISTS) adapter = api.WintunOpenAdapter(name);
      if (!adapter) throw win32Failure('WintunCreateAdapter', code, `adapter ${name}`);
    }
    const a = adapter;
    undo.push(() => api.WintunCloseAdapter(a));
    const luid = api.WintunGetAdapterLUID(a);
    const session = api.WintunStartSession(a, capacity);
    if (!session) throw win32Failure('WintunStartSession', api.GetLastError(), `adapter ${name}`);
    undo.push(() => api.WintunEndSession(session));
    const readEvent = api.WintunGetReadWaitEvent(session);
    const cancelEvent = api.CreateEventW();
    if (!cancelEvent) throw win32Failure('CreateEventW', api.GetLastError());
    return { name, luid, adapter: a, session, readEvent, cancelEvent };
  } catch (err) {
    for (const step of undo.reverse()) step();
    throw err;
  }
}
