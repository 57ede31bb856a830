/**
 * LinuxTunDevice's event-driven I/O without root: the device wraps one end of an AF_UNIX
 * SOCK_SEQPACKET socketpair, which behaves like a TUN fd where it matters here (one read is one
 * packet, non-blocking, EAGAIN while the peer's queue is full, pollable). The real TUN, its
 * packet rates and its idle CPU are covered by test/tunnel-tun.test.ts in a network namespace.
 */
import { closeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { LinuxTunDevice, type LinuxTunOptions } from '@tandem/tunnel';
import { Sock, testLibc } from '@tandem/testkit';

const io = testLibc();

const opened: Array<{ dev: LinuxTunDevice; peer: number }> = [];
afterEach(() => {
  for (const { dev, peer } of opened.splice(0)) {
    dev.close();
    if (peer >= 0) closeSync(peer);
  }
});

function pair(options?: LinuxTunOptions): { dev: LinuxTunDevice; peer: number } {
  const sv = new Int32Array(2);
  expect(io.socketpair(Sock.AF_UNIX, Sock.SEQPACKET | Sock.NONBLOCK | Sock.CLOEXEC, 0, sv)).toBe(0);
  const p = { dev: new LinuxTunDevice(sv[0] as number, 'sp0', options), peer: sv[1] as number };
  opened.push(p);
  return p;
}
const packet = (i: number, size = 200) => Buffer.alloc(size, i & 0xff);
const turns = (ms = 30) => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await turns(2);
  }
}
/** Reads everything queued at the peer; returns the packets' first bytes. */
function readPeer(fd: number): number[] {
  const buf = Buffer.alloc(65536);
  const got: number[] = [];
  while (io.read(fd, buf, buf.length) > 0) got.push(buf[0] as number);
  return got;
}

describe('LinuxTunDevice: reads', () => {
  it('delivers packets as they arrive, in passes of at most readBudget that let the event loop run in between', async () => {
    const { dev, peer } = pair({ readBudget: 16 });
    const got: number[] = [];
    let atImmediate = -1;
    dev.start((p) => {
      if (got.length === 0) setImmediate(() => (atImmediate = got.length));
      got.push(p[0] as number);
    });
    for (let i = 0; i < 60; i++) expect(io.write(peer, packet(i), 200)).toBe(200);
    await until(() => got.length === 60);
    expect(got).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // The immediate queued during the first pass ran before the last pass.
    expect(atImmediate).toBeGreaterThanOrEqual(16);
    expect(atImmediate).toBeLessThan(60);
    expect(dev.stats().rxBatches).toBeGreaterThanOrEqual(4);
  });

  it('does nothing at all while idle: no read attempt, no wake-up', async () => {
    const { dev, peer } = pair();
    dev.start(() => {});
    io.write(peer, packet(1), 200);
    await until(() => dev.stats().rxPackets === 1);
    const before = dev.stats();
    await turns(200);
    const after = dev.stats();
    expect(after.rxIdlePolls).toBe(before.rxIdlePolls);
    expect(after.rxBatches).toBe(before.rxBatches);
  });

  it('pause() leaves packets in the kernel queue until resume()', async () => {
    const { dev, peer } = pair();
    let n = 0;
    dev.start(() => n++);
    dev.pause();
    io.write(peer, packet(1), 200);
    await turns();
    expect(n).toBe(0);
    dev.resume();
    await until(() => n === 1);
  });

  it('an fd at end-of-file is a read failure (E_TUN) that stops reading, not a busy loop', async () => {
    const { dev, peer } = pair();
    const errors: Error[] = [];
    dev.start(
      () => {},
      (err) => errors.push(err),
    );
    closeSync(peer);
    opened[0]!.peer = -1;
    await turns();
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([ErrorCodes.TUN]);
    expect(errors[0]?.message).toMatch(/sp0: read returned end of file/);
  });
});

describe('LinuxTunDevice: writes', () => {
  it('queues on EAGAIN, drops beyond the cap, writes the queue out when the fd turns writable, then runs onceWriteDrained', async () => {
    const { dev, peer } = pair({ maxQueuedWrites: 50 });
    const results: boolean[] = [];
    for (let i = 0; i < 400; i++) results.push(dev.write(packet(i, 1400)));
    const s = dev.stats();
    expect(s.txEagain).toBeGreaterThan(0);
    expect(s.txQueued).toBe(50);
    expect(s.txDropped).toBe(results.filter((r) => !r).length);
    expect(s.txPackets + s.txQueued + s.txDropped).toBe(400);
    let drained = 0;
    dev.onceWriteDrained(() => drained++);
    await turns();
    // Nothing was read at the peer: the queue is still waiting, and so is the listener.
    expect(dev.stats().txQueued).toBe(50);
    expect(drained).toBe(0);
    const got: number[] = [];
    await until(() => {
      got.push(...readPeer(peer));
      return dev.stats().txQueued === 0 && drained === 1;
    });
    got.push(...readPeer(peer));
    // In order: the packets written at once, then the queued ones, with the dropped ones missing.
    const accepted = results.flatMap((ok, i) => (ok ? [i & 0xff] : []));
    expect(got).toEqual(accepted);
    expect(dev.stats().txPackets).toBe(accepted.length);
  });

  it('onceWriteDrained with nothing queued runs on the next turn; cancelled or after close it never runs', async () => {
    const { dev } = pair();
    const ran: string[] = [];
    dev.onceWriteDrained(() => ran.push('empty'));
    const cancel = dev.onceWriteDrained(() => ran.push('cancelled'));
    cancel();
    expect(ran).toEqual([]);
    await turns();
    expect(ran).toEqual(['empty']);
    for (let i = 0; i < 200; i++) dev.write(packet(i, 1400));
    dev.onceWriteDrained(() => ran.push('closed'));
    dev.close();
    dev.onceWriteDrained(() => ran.push('after close'));
    await turns();
    expect(ran).toEqual(['empty']);
    expect(dev.write(packet(1))).toBe(false);
  });

  it('close() is idempotent and stops reading at once', async () => {
    const { dev, peer } = pair();
    let n = 0;
    dev.start(() => n++);
    io.write(peer, packet(1), 200);
    dev.close();
    dev.close();
    await turns();
    expect(n).toBe(0);
    expect(() => dev.start(() => {})).toThrow(/already started|closed/);
  });
});
