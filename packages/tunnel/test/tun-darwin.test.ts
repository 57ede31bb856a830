/**
 * DarwinTunDevice driven through a recording fake of the libc calls and of the readiness watch
 * (fake-utun.ts): the calls opening makes, the 4-byte family header added on write and stripped
 * on read, each errno and what it becomes, and closing. The real utun is opened only on a macOS
 * runner (.github/workflows/platforms.yml).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { Readiness } from '@tandem/fdpoll';
import { DarwinTunDevice } from '../src/tun-darwin.js';
import { utunUnit } from '../src/tun-open-darwin.js';
import { DarwinErrno, Utun } from '../src/utun-api-darwin.js';
import { FakeUtun, FakeWatch, SOCKET_FD } from './fake-utun.js';

const ip4 = (tag: number, size = 40) => Buffer.alloc(size, tag).fill(0x45, 0, 1);
const ip6 = (tag: number, size = 60) => Buffer.alloc(size, tag).fill(0x60, 0, 1);
const framed = (family: number, packet: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, family]), packet]);
/** sockaddr_ctl as bytes: len 32, AF_SYSTEM, AF_SYS_CONTROL, ctl id 0x1234, the unit, 20 reserved. */
const sockaddr = (unit: number) =>
  `2020020034120000${Buffer.from(Uint32Array.of(unit).buffer).toString('hex')}${'00'.repeat(20)}`;

function caught(fn: () => unknown): TandemError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TandemError);
    return err as TandemError;
  }
  throw new Error('did not throw');
}

function opened(api = new FakeUtun(), requested?: string, headroom?: number) {
  let w: FakeWatch | undefined;
  const dev = DarwinTunDevice.open(api, requested, {
    ...(headroom === undefined ? {} : { headroom }),
    watch: (fd, onReady) => (w = new FakeWatch(fd, onReady)),
  });
  const got: Buffer[] = [];
  const errors: TandemError[] = [];
  dev.start(
    (p) => got.push(p),
    (e) => errors.push(e as TandemError),
  );
  return { api, dev, watch: w!, got, errors };
}

describe('DarwinTunDevice.open', () => {
  it('makes the control socket, close-on-exec and non-blocking, finds the utun control, connects to the next free unit and reads the name', () => {
    const { api, dev, watch } = opened();
    expect(api.calls).toEqual([
      ['socket', 32, 2, 2],
      ['fcntl', SOCKET_FD, Utun.F_SETFD, Utun.FD_CLOEXEC],
      ['fcntl', SOCKET_FD, Utun.F_GETFL, 0],
      ['fcntl', SOCKET_FD, Utun.F_SETFL, 2 | Utun.O_NONBLOCK],
      ['ioctl', SOCKET_FD, 0xc0644e03, 'com.apple.net.utun_control', 100],
      ['connect', SOCKET_FD, sockaddr(0), 32],
      ['getsockopt', SOCKET_FD, 2, 2, 16],
    ]);
    expect(dev.name).toBe('utun7');
    expect(dev.fd).toBeNull();
    expect(dev.headroom).toBe(4);
    expect(watch.fd).toBe(SOCKET_FD);
    expect(watch.watching).toBe(Readiness.READABLE);
  });

  it('utunN asks for unit N + 1', () => {
    const { api } = opened(new FakeUtun(), 'utun3');
    expect(api.calls.find((c) => c[0] === 'connect')).toEqual(['connect', SOCKET_FD, sockaddr(4), 32]);
    expect([utunUnit(undefined), utunUnit('tandem%d'), utunUnit('utun0'), utunUnit('utun12')]).toEqual([0, 0, 1, 13]);
    expect(() => utunUnit('tandem0')).toThrow(/utunN/);
  });

  it('a failed socket() is E_TUN naming the call and errno; there is nothing to close', () => {
    const api = new FakeUtun();
    api.failWith.set('socket', DarwinErrno.EPERM);
    const err = caught(() => DarwinTunDevice.open(api, undefined));
    expect(err.code).toBe(ErrorCodes.TUN);
    expect(err.message).toBe('socket(PF_SYSTEM) failed: errno 1 (EPERM): needs root');
    expect(err.details).toEqual({ call: 'socket(PF_SYSTEM)', errno: 1 });
    expect(api.count('close')).toBe(0);
  });

  for (const [key, call, errno, what] of [
    [`fcntl:${Utun.F_SETFD}`, 'fcntl(F_SETFD)', DarwinErrno.EBADF, ''],
    [`fcntl:${Utun.F_GETFL}`, 'fcntl(F_GETFL)', DarwinErrno.EBADF, ''],
    [`fcntl:${Utun.F_SETFL}`, 'fcntl(F_SETFL)', DarwinErrno.EINVAL, ''],
    ['ioctl', 'ioctl(CTLIOCGINFO)', DarwinErrno.ENOENT, ': com.apple.net.utun_control'],
    ['connect', 'connect', DarwinErrno.EBUSY, ': the next free utun'],
    ['getsockopt', 'getsockopt(UTUN_OPT_IFNAME)', DarwinErrno.EINVAL, ''],
  ] as const) {
    it(`a failed ${call} is E_TUN with errno ${errno}, and the socket is closed once`, () => {
      const api = new FakeUtun();
      api.failWith.set(key, errno);
      const err = caught(() => DarwinTunDevice.open(api, undefined));
      expect(err.message).toMatch(
        new RegExp(`^${call.replace(/[()]/g, '\\$&')} failed: errno ${errno} \\(E[A-Z]+\\)${what}$`),
      );
      expect(err.details).toEqual({ call, errno });
      expect(api.calls.filter((c) => c[0] === 'close')).toEqual([['close', SOCKET_FD]]);
    });
  }
});

describe('DarwinTunDevice: reading', () => {
  it('strips the family header: the packet is handed out with the header in its headroom, until EAGAIN', () => {
    const api = new FakeUtun();
    const { dev, watch, got } = opened(api, undefined, 8);
    api.rx.push(framed(Utun.AF_INET, ip4(1)), framed(Utun.AF_INET6, ip6(2)));
    watch.fire(Readiness.READABLE);
    expect(got).toEqual([ip4(1), ip6(2)]);
    const p = got[0]!;
    expect(p.byteOffset).toBeGreaterThanOrEqual(8);
    expect([...new Uint8Array(p.buffer, p.byteOffset - 4, 4)]).toEqual([0, 0, 0, 2]);
    expect(api.calls.filter((c) => c[0] === 'read')).toEqual([
      ['read', SOCKET_FD, 65539],
      ['read', SOCKET_FD, 65539],
      ['read', SOCKET_FD, 65539],
    ]);
    expect(dev.stats()).toMatchObject({ rxPackets: 2, rxBytes: 100, rxBatches: 1 });
  });

  it('pause stops watching and resume watches again', () => {
    const { dev, watch } = opened();
    dev.pause();
    dev.resume();
    expect(watch.events).toEqual([Readiness.READABLE, 0, Readiness.READABLE]);
  });

  it('a read error reaches onError once as E_TUN naming read and the errno; watching stops', () => {
    const api = new FakeUtun();
    const { watch, errors } = opened(api);
    api.failWith.set('read', DarwinErrno.ENXIO);
    watch.fire(Readiness.READABLE);
    watch.fire(Readiness.READABLE);
    expect(errors.map((e) => [e.code, e.message, e.details])).toEqual([
      [ErrorCodes.TUN, 'read failed: errno 6 (ENXIO): utun7', { call: 'read', errno: 6 }],
    ]);
    expect(watch.watching).toBe(0);
  });

  it('a poll error reaches onError as it came', () => {
    const { watch, errors } = opened();
    const err = new TandemError(ErrorCodes.TUN, 'fd 42: poll failed: EBADF');
    watch.fire(0, err);
    expect(errors).toEqual([err]);
  });

  it('has no fd for a native reader', () => {
    const { dev } = opened();
    expect(() => dev.setReader(() => true)).toThrow(/native reader/);
  });
});

describe('DarwinTunDevice: writing', () => {
  it('puts AF_INET / AF_INET6 in network byte order in front of each packet', () => {
    const { api, dev } = opened();
    expect(dev.write(ip4(1))).toBe(true);
    expect(dev.write(ip6(2))).toBe(true);
    expect(api.written).toEqual([framed(2, ip4(1)), framed(30, ip6(2))]);
    expect(api.written[1]!.subarray(0, 4).toString('hex')).toBe('0000001e');
    expect(dev.stats()).toMatchObject({ txPackets: 2, txBytes: 100 });
  });

  it('a packet that is not IPv4 or IPv6 is lost without a write', () => {
    const { api, dev } = opened();
    expect(dev.write(Buffer.alloc(20))).toBe(true);
    expect(api.count('write')).toBe(0);
    expect(dev.stats().txErrors).toBe(1);
  });

  it('ENOBUFS and EAGAIN drop the packet and answer false; EINTR retries; EIO loses one packet', () => {
    const { api, dev, errors } = opened();
    api.writeErrnos.push(DarwinErrno.ENOBUFS, DarwinErrno.EAGAIN, DarwinErrno.EINTR);
    expect(dev.write(ip4(1))).toBe(false);
    expect(dev.write(ip4(2))).toBe(false);
    expect(dev.write(ip4(3))).toBe(true);
    expect(api.count('write')).toBe(4);
    api.writeErrnos.push(DarwinErrno.EIO);
    expect(dev.write(ip4(4))).toBe(true);
    expect(api.written).toEqual([framed(2, ip4(3))]);
    expect(dev.stats()).toMatchObject({ txPackets: 1, txDropped: 2, txErrors: 1 });
    expect(errors).toEqual([]);
  });

  it('any other write errno fails the device: false, and onError names write and the errno', () => {
    const { api, dev, errors } = opened();
    api.writeErrnos.push(DarwinErrno.ENXIO);
    expect(dev.write(ip4(1))).toBe(false);
    expect(errors.map((e) => e.details)).toEqual([{ call: 'write', errno: 6 }]);
    expect(dev.write(ip4(2))).toBe(false);
    expect(api.count('write')).toBe(1);
  });
});

describe('DarwinTunDevice.close', () => {
  it('closes the watch, then the socket, once', () => {
    const { api, dev, watch } = opened();
    dev.close();
    dev.close();
    expect(watch.closed).toBe(1);
    expect(api.calls.filter((c) => c[0] === 'close')).toEqual([['close', SOCKET_FD]]);
    expect(dev.write(ip4(1))).toBe(false);
  });
});
