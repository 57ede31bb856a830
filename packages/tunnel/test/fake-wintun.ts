/**
 * A recording stand-in for wintun.dll and the kernel32 calls (WintunApi): every call is logged
 * with its arguments, failures are injected per call with the Win32 codes wintun.h documents,
 * and the rings are plain arrays.
 */
import {
  Win32Error,
  WaitResult,
  type PacketPointer,
  type Win32Handle,
  type WintunAdapter,
  type WintunApi,
  type WintunSession,
} from '../src/wintun-api-windows.js';

export const ADAPTER = 0x1000n as WintunAdapter;
export const SESSION = 0x2000n as WintunSession;
export const READ_EVENT = 0x3000n as Win32Handle;
export const CANCEL_EVENT = 0x4000n as Win32Handle;
export const LUID = 0x0006_0000_0000_0042n;

type Call = [name: string, ...args: unknown[]];

export class FakeWintun implements WintunApi {
  readonly calls: Call[] = [];
  /** Calls that fail, with the error GetLastError then reports. */
  readonly failWith = new Map<string, number>();
  /** Packets the host stack has put into the receive ring. */
  readonly rx: Buffer[] = [];
  /** Packets sent into the host stack. */
  readonly sent: Buffer[] = [];
  /** Free send slots; none left → ERROR_BUFFER_OVERFLOW. */
  sendSlots = Infinity;
  private lastError = 0;
  private nextPointer = 0x10000n;
  private readonly memory = new Map<bigint, Uint8Array>();
  private pending: { handles: readonly Win32Handle[]; resolve: (r: { result: number; error: number }) => void } | null =
    null;

  /** Names of the calls so far, optionally only those not in `skip`. */
  names(skip: readonly string[] = []): string[] {
    return this.calls.map((c) => c[0]).filter((n) => !skip.includes(n));
  }

  count(name: string): number {
    return this.calls.filter((c) => c[0] === name).length;
  }

  /** True while a wait is outstanding. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Ends the outstanding wait with `result` (WAIT_OBJECT_0 + index, or WAIT_FAILED and `error`). */
  finishWait(result: number, error = 0): void {
    const p = this.pending;
    if (!p) throw new Error('no wait outstanding');
    this.pending = null;
    p.resolve({ result, error });
  }

  private call<T>(name: string, args: unknown[], result: () => T): T | null {
    this.calls.push([name, ...args]);
    const code = this.failWith.get(name);
    if (code !== undefined) {
      this.lastError = code;
      return null;
    }
    return result();
  }

  private allocate(bytes: Uint8Array): PacketPointer {
    const p = (this.nextPointer += 0x10000n) as PacketPointer;
    this.memory.set(p, bytes);
    return p;
  }

  WintunCreateAdapter(name: string, tunnelType: string, guid: Uint8Array | null): WintunAdapter | null {
    return this.call(
      'WintunCreateAdapter',
      [name, tunnelType, guid ? Buffer.from(guid).toString('hex') : null],
      () => ADAPTER,
    );
  }
  WintunOpenAdapter(name: string): WintunAdapter | null {
    return this.call('WintunOpenAdapter', [name], () => ADAPTER);
  }
  WintunCloseAdapter(adapter: WintunAdapter): void {
    this.calls.push(['WintunCloseAdapter', adapter]);
  }
  WintunGetAdapterLUID(adapter: WintunAdapter): bigint {
    this.calls.push(['WintunGetAdapterLUID', adapter]);
    return LUID;
  }
  WintunStartSession(adapter: WintunAdapter, capacity: number): WintunSession | null {
    return this.call('WintunStartSession', [adapter, capacity], () => SESSION);
  }
  WintunEndSession(session: WintunSession): void {
    this.calls.push(['WintunEndSession', session]);
  }
  WintunGetReadWaitEvent(session: WintunSession): Win32Handle {
    this.calls.push(['WintunGetReadWaitEvent', session]);
    return READ_EVENT;
  }
  WintunReceivePacket(session: WintunSession, size: Uint32Array): PacketPointer | null {
    return this.call('WintunReceivePacket', [session], () => {
      const packet = this.rx.shift();
      if (!packet) {
        this.lastError = Win32Error.NO_MORE_ITEMS;
        return null;
      }
      size[0] = packet.length;
      return this.allocate(Uint8Array.from(packet));
    });
  }
  WintunReleaseReceivePacket(session: WintunSession, packet: PacketPointer): void {
    this.calls.push(['WintunReleaseReceivePacket', session, packet]);
    this.memory.delete(packet);
  }
  WintunAllocateSendPacket(session: WintunSession, size: number): PacketPointer | null {
    return this.call('WintunAllocateSendPacket', [session, size], () => {
      if (this.sendSlots <= 0) {
        this.lastError = Win32Error.BUFFER_OVERFLOW;
        return null;
      }
      this.sendSlots--;
      return this.allocate(new Uint8Array(size));
    });
  }
  WintunSendPacket(session: WintunSession, packet: PacketPointer): void {
    this.calls.push(['WintunSendPacket', session, packet]);
    this.sent.push(Buffer.from(this.memory.get(packet)!));
    this.memory.delete(packet);
  }
  GetLastError(): number {
    return this.lastError;
  }
  CreateEventW(): Win32Handle | null {
    return this.call('CreateEventW', [], () => CANCEL_EVENT);
  }
  SetEvent(event: Win32Handle): boolean {
    this.calls.push(['SetEvent', event]);
    if (this.failWith.has('SetEvent')) {
      this.lastError = this.failWith.get('SetEvent')!;
      return false;
    }
    // Wakes a wait on it, as the kernel would.
    const index = this.pending?.handles.indexOf(event) ?? -1;
    if (index >= 0) this.finishWait(WaitResult.OBJECT_0 + index);
    return true;
  }
  CloseHandle(handle: Win32Handle): boolean {
    this.calls.push(['CloseHandle', handle]);
    return true;
  }
  waitForAny(handles: readonly Win32Handle[], timeoutMs: number): Promise<{ result: number; error: number }> {
    this.calls.push(['waitForAny', [...handles], timeoutMs]);
    if (this.pending) throw new Error('two waits at once');
    return new Promise((resolve) => (this.pending = { handles, resolve }));
  }
  view(pointer: PacketPointer, length: number): Uint8Array {
    const bytes = this.memory.get(pointer);
    if (!bytes || length > bytes.length) throw new Error(`view of ${length} bytes at a pointer that is not live`);
    return bytes.subarray(0, length);
  }
}
