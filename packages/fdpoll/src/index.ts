/**
 * @tandem/fdpoll — readiness of a file descriptor, reported from Node's own event loop. A small
 * N-API addon (native/fdpoll.c, built by `npm ci` through binding.gyp) wraps libuv's uv_poll_t,
 * which is an epoll watch: nothing runs while the fd is quiet (no thread, no timer), and it works
 * on character devices such as /dev/net/tun. It exists so an idle tunnel costs no CPU. Reading
 * and writing stay with the caller; this only says when to try.
 *
 * Level-triggered, like poll(2): while the fd stays readable (or writable) and that event is
 * watched, the handler runs again on every loop turn.
 */
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Event bits for {@link FdWatch.watch} and the handler (libuv's UV_READABLE / UV_WRITABLE). */
export const Readiness = { READABLE: 1, WRITABLE: 2 } as const;

/** Called with the ready events; on a poll error `events` is 0, `err` is set and watching has stopped. */
export type ReadinessHandler = (events: number, err?: TandemError) => void;

interface NativeFdPoll {
  watch(events: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

interface Addon {
  FdPoll: new (fd: number, onReady: (events: number, status: number) => void) => NativeFdPoll;
  READABLE: number;
  WRITABLE: number;
}

/** Where the built addon is found: the package's own `./addon` export (works from the CLI bundle too). */
const ADDON = '@tandem/fdpoll/addon';

let addon: Addon | undefined;

/**
 * Loads the addon once per process; throws `E_TUN` with what to do when it is missing or does
 * not load. There is deliberately no timer fallback: it would bring the idle cost back unnoticed.
 * `specifier` is for tests only.
 */
export function loadFdPoll(specifier = ADDON): void {
  if (addon && specifier === ADDON) return;
  let loaded: Addon;
  try {
    loaded = createRequire(import.meta.url)(specifier) as Addon;
  } catch (err) {
    throw new TandemError(
      ErrorCodes.TUN,
      `the fd readiness addon (@tandem/fdpoll, build/Release/fdpoll.node) did not load: ${(err as Error).message}. ` +
        '`npm ci` builds it with node-gyp, which needs a C compiler, make and the Node headers (npm_config_nodedir).',
      { cause: err },
    );
  }
  if (
    loaded.READABLE !== Readiness.READABLE ||
    loaded.WRITABLE !== Readiness.WRITABLE ||
    typeof loaded.FdPoll !== 'function'
  ) {
    throw new TandemError(
      ErrorCodes.TUN,
      `the fd readiness addon loaded from ${specifier} is not the one this package expects`,
    );
  }
  if (specifier === ADDON) addon = loaded;
}

/** Watches one fd for readiness. Close it before closing the fd. */
export class FdWatch {
  private readonly native: NativeFdPoll;
  private events = 0;
  private isClosed = false;

  /** Creates an idle watch (nothing is watched until {@link watch}); loads the addon on first use. */
  constructor(
    readonly fd: number,
    onReady: ReadinessHandler,
  ) {
    loadFdPoll();
    const Native = (addon as Addon).FdPoll;
    try {
      this.native = new Native(fd, (events, status) => {
        if (status >= 0) {
          onReady(events);
          return;
        }
        // libuv stopped the watch itself after the error.
        this.events = 0;
        onReady(
          0,
          new TandemError(ErrorCodes.TUN, `fd ${fd}: poll failed: ${getSystemErrorName(status)}`, {
            details: { status },
          }),
        );
      });
    } catch (err) {
      throw new TandemError(ErrorCodes.TUN, `fd ${fd}: cannot watch: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sets the watched events (a {@link Readiness} combination; 0 stops watching). An active watch keeps the process alive unless {@link unref}'d. */
  watch(events: number): void {
    if (events === this.events) return;
    if (this.isClosed) throw new TandemError(ErrorCodes.TUN, `fd ${this.fd}: watch is closed`);
    this.native.watch(events);
    this.events = events;
  }

  /** The events being watched now. */
  get watching(): number {
    return this.events;
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Lets the process exit while this watch is active. */
  unref(): void {
    this.native.unref();
  }

  /** Undoes {@link unref}. */
  ref(): void {
    this.native.ref();
  }

  /** Stops watching for good; no handler runs afterwards, not even one already due. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.events = 0;
    this.native.close();
  }
}
