/**
 * A recording fake of the Win32 calls behind the agent's named pipe (PipeApi): every call is
 * logged, clients are queued by the test, and each step can be made to fail with the error code
 * Windows documents for it.
 */
import type { PipeApi, SecurityDescriptor, TokenGroup, Win32, Win32Handle } from '../src/server/pipe-api-windows.js';

/** A client as the fake's kernel sees it, and the failures it provokes. */
export interface FakeClient {
  pid: number;
  sid: string;
  groups: TokenGroup[];
  /** ConnectNamedPipe's result for this client (0: connected). */
  connectError?: number;
  pidError?: number;
  impersonateError?: number;
  /** OpenThreadToken's error (ERROR_CANT_OPEN_ANONYMOUS for an anonymous client). */
  tokenError?: number;
  userError?: number;
  groupsError?: number;
}

const ok = <T>(value: T): Win32<T> => ({ ok: true, value });
const no = <T>(error: number): Win32<T> => ({ ok: false, error });

/** The fake; `calls` is the log, the other fields steer it. */
export class FakePipeApi implements PipeApi {
  readonly calls: string[] = [];
  /** Errors the next createNamedPipe calls return, in order (0: succeed). */
  createErrors: number[] = [];
  sddlError = 0;
  revertError = 0;
  adoptError = 0;
  /** Handles open now (pipes and tokens). */
  readonly open = new Set<Win32Handle>();
  private nextHandle = 100;
  private readonly clients: FakeClient[] = [];
  private waiter: { pipe: Win32Handle; resolve: (rc: number) => void } | null = null;
  private readonly attached = new Map<Win32Handle, FakeClient>();
  private impersonating: FakeClient | null = null;
  private readonly tokens = new Map<Win32Handle, FakeClient>();

  /** A client arrives: the pending ConnectNamedPipe completes for it. */
  arrive(client: FakeClient): void {
    this.clients.push(client);
    this.wake();
  }

  /** Resolves once a ConnectNamedPipe is pending. */
  async listening(): Promise<void> {
    while (!this.waiter) await new Promise((r) => setImmediate(r));
  }

  private wake(): void {
    if (!this.waiter || this.clients.length === 0) return;
    const { pipe, resolve } = this.waiter;
    this.waiter = null;
    const client = this.clients.shift()!;
    if (!client.connectError) this.attached.set(pipe, client);
    resolve(client.connectError ?? 0);
  }

  securityDescriptor(sddl: string): Win32<SecurityDescriptor> {
    this.calls.push(`ConvertStringSecurityDescriptorToSecurityDescriptorW(${sddl})`);
    return this.sddlError ? no(this.sddlError) : ok({ sddl });
  }
  freeSecurityDescriptor(sd: SecurityDescriptor): void {
    this.calls.push(`LocalFree(${sd.sddl})`);
  }
  createNamedPipe(name: string, openMode: number, pipeMode: number, max: number, size: number, sd: SecurityDescriptor) {
    const hex = (n: number) => `0x${n.toString(16)}`;
    this.calls.push(`CreateNamedPipeW(${name}, ${hex(openMode)}, ${hex(pipeMode)}, ${max}, ${size}, ${sd.sddl})`);
    const error = this.createErrors.shift() ?? 0;
    if (error) return no<Win32Handle>(error);
    const h = this.nextHandle++;
    this.open.add(h);
    return ok(h);
  }
  connectNamedPipe(pipe: Win32Handle): Promise<number> {
    this.calls.push(`ConnectNamedPipe(${pipe})`);
    return new Promise((resolve) => {
      this.waiter = { pipe, resolve };
      this.wake();
    });
  }
  cancelConnect(pipe: Win32Handle): void {
    this.calls.push(`CancelIoEx(${pipe})`);
    if (this.waiter?.pipe === pipe) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve(995);
    }
  }
  clientProcessId(pipe: Win32Handle): Win32<number> {
    this.calls.push(`GetNamedPipeClientProcessId(${pipe})`);
    const c = this.attached.get(pipe)!;
    return c.pidError ? no(c.pidError) : ok(c.pid);
  }
  impersonateClient(pipe: Win32Handle): number {
    this.calls.push(`ImpersonateNamedPipeClient(${pipe})`);
    const c = this.attached.get(pipe)!;
    if (c.impersonateError) return c.impersonateError;
    this.impersonating = c;
    return 0;
  }
  openThreadToken(): Win32<Win32Handle> {
    this.calls.push(`OpenThreadToken(${this.impersonating ? 'impersonating' : 'as self'})`);
    const c = this.impersonating;
    if (!c) return no(1008);
    if (c.tokenError) return no(c.tokenError);
    const h = this.nextHandle++;
    this.open.add(h);
    this.tokens.set(h, c);
    return ok(h);
  }
  revertToSelf(): number {
    this.calls.push('RevertToSelf()');
    if (this.revertError) return this.revertError;
    this.impersonating = null;
    return 0;
  }
  tokenUser(token: Win32Handle): Win32<string> {
    this.calls.push(`GetTokenInformation(${token}, TokenUser)`);
    const c = this.tokens.get(token)!;
    return c.userError ? no(c.userError) : ok(c.sid);
  }
  tokenGroups(token: Win32Handle): Win32<TokenGroup[]> {
    this.calls.push(`GetTokenInformation(${token}, TokenGroups)`);
    const c = this.tokens.get(token)!;
    return c.groupsError ? no(c.groupsError) : ok(c.groups);
  }
  disconnect(pipe: Win32Handle): void {
    this.calls.push(`DisconnectNamedPipe(${pipe})`);
  }
  closeHandle(handle: Win32Handle): void {
    this.calls.push(`CloseHandle(${handle})`);
    this.open.delete(handle);
    this.tokens.delete(handle);
  }
  adoptHandle(pipe: Win32Handle): Win32<number> {
    this.calls.push(`uv_open_osfhandle(${pipe})`);
    if (this.adoptError) return no(this.adoptError);
    // Node owns the handle from here on.
    this.open.delete(pipe);
    return ok(pipe + 1000);
  }

  /** Whether the JS thread is still impersonating a client. */
  get stillImpersonating(): boolean {
    return this.impersonating !== null;
  }
}

/** Groups of a standard user's token. */
export const USER_GROUPS: TokenGroup[] = [
  { sid: 'S-1-1-0', attributes: 0x7 },
  { sid: 'S-1-5-11', attributes: 0x7 },
];
/** An administrator's token filtered by UAC: Administrators is deny-only. */
export const FILTERED_ADMIN_GROUPS: TokenGroup[] = [...USER_GROUPS, { sid: 'S-1-5-32-544', attributes: 0x10 }];
/** An administrator's elevated token: Administrators enabled (mandatory, enabled by default, enabled, owner). */
export const ELEVATED_ADMIN_GROUPS: TokenGroup[] = [...USER_GROUPS, { sid: 'S-1-5-32-544', attributes: 0xf }];
