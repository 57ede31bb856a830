/**
 * The Windows endpoint: the named pipe `\\.\pipe\tandem`, created by the agent itself through
 * {@link PipeApi} rather than by Node. Node's `net.Server` on a pipe name gives no way to set
 * the pipe's security descriptor or PIPE_REJECT_REMOTE_CLIENTS, and a `net.Socket` on a pipe
 * exposes no HANDLE (its `fd` is -1 on Windows), so the client's token could not be read. So:
 *
 * 1. Each instance is created with CreateNamedPipeW: overlapped, byte mode, remote clients
 *    rejected, the security descriptor of {@link PIPE_SDDL}; the first with
 *    FILE_FLAG_FIRST_PIPE_INSTANCE, so a process that took the name before the agent makes the
 *    start fail instead of sharing the name.
 * 2. ConnectNamedPipe waits on a libuv worker thread (one at a time: a single instance listens
 *    while the previous client is identified). As soon as a client is connected, the next
 *    instance is created so the following client does not meet ERROR_PIPE_BUSY.
 * 3. The client is identified from its token (peercred-windows.ts); a client that cannot be is
 *    disconnected. An identified one's handle goes to Node's own C runtime
 *    (`uv_open_osfhandle`) and `new net.Socket({ fd })` adopts it: from then on libuv reads and
 *    writes it on its I/O completion port like any pipe, and closes it.
 */
import net from 'node:net';
import { ErrorCodes, TandemError, type Logger } from '@tandem/common';
import type { Endpoint, EndpointOptions, OnPeer, OnRefused } from './endpoint.js';
import { identifyPipeClient, SidUids, type RevertFailure } from './peercred-windows.js';
import { Win32Error, type PipeApi, type SecurityDescriptor, type Win32Handle } from './pipe-api-windows.js';

/**
 * The pipe's security descriptor: a protected DACL (nothing inherited) that denies network
 * logons, gives LocalSystem and Administrators full control and authenticated users read and
 * write (0x12019b: FILE_GENERIC_READ | FILE_GENERIC_WRITE without FILE_APPEND_DATA, which on a
 * pipe is FILE_CREATE_PIPE_INSTANCE — with it, any user could create instances of the agent's
 * pipe and answer clients in its place). Clients therefore open the pipe with these rights, not
 * GENERIC_WRITE.
 */
export const PIPE_SDDL = 'D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;AU)';

export const PIPE_ACCESS_DUPLEX = 0x3;
export const FILE_FLAG_FIRST_PIPE_INSTANCE = 0x80000;
export const FILE_FLAG_OVERLAPPED = 0x40000000;
/** PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT are all 0. */
export const PIPE_REJECT_REMOTE_CLIENTS = 0x8;
export const PIPE_UNLIMITED_INSTANCES = 255;
/** In- and out-buffer size the system is asked for (a hint; frames are written in pieces anyway). */
export const PIPE_BUFFER = 64 * 1024;
/** Wait before creating an instance again after the system refused one. */
const RETRY_MS = 1000;

/** Test hooks of {@link PipeEndpoint}. */
export interface PipeEndpointHooks {
  /** Wraps an adopted descriptor; default `new net.Socket({ fd, readable: true, writable: true })`. */
  socket?: (fd: number) => net.Socket;
  onRevertFailure?: RevertFailure;
  /** Sleep before retrying a refused CreateNamedPipeW. */
  delay?: (ms: number) => Promise<void>;
}

function win32(call: string, code: number, code2: TandemError['code'] = ErrorCodes.PERMISSION): TandemError {
  return new TandemError(code2, `${call} failed: Win32 error ${code}`, { details: { call, win32Error: code } });
}

/** The agent's named pipe over `api`. */
export class PipeEndpoint implements Endpoint {
  private readonly uids = new SidUids();
  private readonly logger: Logger;
  private sd: SecurityDescriptor | null = null;
  private pending: Win32Handle | null = null;
  private closed = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly options: EndpointOptions,
    private readonly api: PipeApi,
    private readonly hooks: PipeEndpointHooks = {},
  ) {
    this.logger = options.logger;
  }

  async listen(onPeer: OnPeer, onRefused: OnRefused): Promise<void> {
    const sd = this.api.securityDescriptor(PIPE_SDDL);
    if (!sd.ok) throw win32('ConvertStringSecurityDescriptorToSecurityDescriptorW', sd.error, ErrorCodes.INTERNAL);
    this.sd = sd.value;
    const first = this.create(true);
    if (!first.ok) {
      this.api.freeSecurityDescriptor(sd.value);
      this.sd = null;
      const taken = first.error === Win32Error.ACCESS_DENIED || first.error === Win32Error.PIPE_BUSY;
      throw new TandemError(
        ErrorCodes.PERMISSION,
        `CreateNamedPipeW ${this.options.address} failed: Win32 error ${first.error}` +
          (taken ? ' (another process holds the pipe name; refusing to share it)' : ''),
        { details: { call: 'CreateNamedPipeW', win32Error: first.error } },
      );
    }
    this.pending = first.value;
    this.loop = this.acceptLoop(onPeer, onRefused).catch((err: unknown) =>
      this.logger.error('pipe accept loop ended', { error: err instanceof Error ? err.message : String(err) }),
    );
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pending !== null) this.api.cancelConnect(this.pending);
    await this.loop;
    if (this.sd) this.api.freeSecurityDescriptor(this.sd);
    this.sd = null;
  }

  private create(first: boolean): ReturnType<PipeApi['createNamedPipe']> {
    const open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    return this.api.createNamedPipe(
      this.options.address,
      open,
      PIPE_REJECT_REMOTE_CLIENTS,
      PIPE_UNLIMITED_INSTANCES,
      PIPE_BUFFER,
      this.sd!,
    );
  }

  /** An instance to listen on, retried while the system refuses one. */
  private async nextInstance(): Promise<Win32Handle | null> {
    for (;;) {
      if (this.closed) return null;
      const next = this.create(false);
      if (next.ok) return next.value;
      this.logger.error('cannot create a pipe instance; retrying', { win32Error: next.error });
      await (this.hooks.delay ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(RETRY_MS);
    }
  }

  private async acceptLoop(onPeer: OnPeer, onRefused: OnRefused): Promise<void> {
    while (!this.closed && this.pending !== null) {
      const pipe = this.pending;
      const rc = await this.api.connectNamedPipe(pipe);
      if (this.closed) {
        this.api.closeHandle(pipe);
        this.pending = null;
        return;
      }
      this.pending = null;
      const next = await this.nextInstance();
      if (rc !== 0) {
        // ERROR_NO_DATA: the client came and went before the connect completed.
        if (rc !== Win32Error.NO_DATA) this.logger.warn('ConnectNamedPipe failed', { win32Error: rc });
        this.api.closeHandle(pipe);
      } else this.accept(pipe, onPeer, onRefused);
      if (next === null) return;
      this.pending = next;
    }
  }

  private accept(pipe: Win32Handle, onPeer: OnPeer, onRefused: OnRefused): void {
    let peer;
    let fd;
    try {
      peer = identifyPipeClient(this.api, pipe, this.uids, this.hooks.onRevertFailure);
      const adopted = this.api.adoptHandle(pipe);
      if (!adopted.ok) throw win32('uv_open_osfhandle', adopted.error, ErrorCodes.INTERNAL);
      fd = adopted.value;
    } catch (err) {
      this.api.disconnect(pipe);
      this.api.closeHandle(pipe);
      onRefused(err instanceof Error ? err.message : String(err));
      return;
    }
    let socket;
    try {
      socket = (this.hooks.socket ?? ((n) => new net.Socket({ fd: n, readable: true, writable: true })))(fd);
    } catch (err) {
      // The C runtime owns the handle now; closing it behind the runtime's back would be worse than this leak.
      onRefused(`Node refused the pipe descriptor: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    onPeer(socket, peer);
  }
}
