/**
 * A recording stand-in for the libc calls of a utun socket (UtunApi) and for the readiness
 * watch: every call is logged with its arguments (structs as hex), failures are injected per
 * call with macOS errno values, and the socket's datagrams are plain arrays.
 */
import type { ReadinessHandler } from '@tandem/fdpoll';
import type { ReadinessWatch } from '../src/tun-darwin.js';
import { DarwinErrno, Utun, type UtunApi } from '../src/utun-api-darwin.js';

export const SOCKET_FD = 42;
export const CTL_ID = 0x1234;
const O_RDWR = 2;

type Call = [name: string, ...args: unknown[]];

export class FakeUtun implements UtunApi {
  readonly calls: Call[] = [];
  /** Calls that fail (return -1) with this errno. */
  readonly failWith = new Map<string, number>();
  /** Datagrams waiting on the socket, family header included. */
  readonly rx: Buffer[] = [];
  /** Datagrams written, family header included. */
  readonly written: Buffer[] = [];
  /** errno of the next writes, one per write (then they succeed). */
  readonly writeErrnos: number[] = [];
  /** The name the kernel gives the interface. */
  ifname = 'utun7';
  private lastErrno = 0;

  names(): string[] {
    return this.calls.map((c) => c[0]);
  }

  count(name: string): number {
    return this.calls.filter((c) => c[0] === name).length;
  }

  private failed(name: string): boolean {
    const e = this.failWith.get(name);
    if (e === undefined) return false;
    this.lastErrno = e;
    return true;
  }

  socket(domain: number, type: number, protocol: number): number {
    this.calls.push(['socket', domain, type, protocol]);
    return this.failed('socket') ? -1 : SOCKET_FD;
  }
  ioctl(fd: number, request: number, arg: Buffer): number {
    this.calls.push(['ioctl', fd, request, arg.toString('latin1', 4, arg.indexOf(0, 4)), arg.length]);
    if (this.failed('ioctl')) return -1;
    arg.writeUInt32LE(CTL_ID, 0);
    return 0;
  }
  connect(fd: number, address: Buffer, length: number): number {
    this.calls.push(['connect', fd, address.toString('hex'), length]);
    return this.failed('connect') ? -1 : 0;
  }
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: Uint32Array): number {
    this.calls.push(['getsockopt', fd, level, name, length[0]]);
    if (this.failed('getsockopt')) return -1;
    const n = value.write(`${this.ifname}\0`, 'latin1');
    length[0] = n;
    return 0;
  }
  fcntl(fd: number, cmd: number, arg: number): number {
    this.calls.push(['fcntl', fd, cmd, arg]);
    if (this.failed(`fcntl:${cmd}`)) return -1;
    return cmd === Utun.F_GETFL ? O_RDWR : 0;
  }
  read(fd: number, buf: Uint8Array, count: number): number {
    this.calls.push(['read', fd, count]);
    if (this.failed('read')) return -1;
    const d = this.rx.shift();
    if (!d) {
      this.lastErrno = DarwinErrno.EAGAIN;
      return -1;
    }
    buf.set(d.subarray(0, count));
    return Math.min(d.length, count);
  }
  write(fd: number, buf: Uint8Array, count: number): number {
    this.calls.push(['write', fd, count]);
    const e = this.writeErrnos.shift();
    if (e !== undefined) {
      this.lastErrno = e;
      return -1;
    }
    this.written.push(Buffer.from(buf.subarray(0, count)));
    return count;
  }
  close(fd: number): number {
    this.calls.push(['close', fd]);
    return 0;
  }
  errno(): number {
    return this.lastErrno;
  }
}

/** A readiness watch the test fires by hand. */
export class FakeWatch implements ReadinessWatch {
  readonly events: number[] = [];
  closed = 0;
  constructor(
    readonly fd: number,
    readonly fire: ReadinessHandler,
  ) {}
  watch(events: number): void {
    this.events.push(events);
  }
  close(): void {
    this.closed++;
  }
  /** The events watched now. */
  get watching(): number {
    return this.events.at(-1) ?? 0;
  }
}
