/**
 * The readiness addon on fds whose state a test controls (eventfd, pipe, socketpair made through
 * koffi): readable and writable reports, level triggering, stop, close (twice, from inside a
 * handler, with a report already due), poll errors, load failures; and, in child processes, what
 * only a whole process shows: an active watch keeps it alive, a closed or unref'd one does not,
 * a thrown handler error reaches `uncaughtException`, and watches created and dropped by the
 * hundred thousand do not leak memory.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { FdWatch, loadFdPoll, Readiness } from '@tandem/fdpoll';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const require = createRequire(`${root}packages/tunnel/package.json`);
const koffi = require('koffi') as typeof import('koffi');
const lib = koffi.load('libc.so.6');
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const c = {
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)') as (init: number, flags: number) => number,
  pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)') as (fds: Int32Array, flags: number) => number,
  socketpair: lib.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)') as (
    d: number,
    t: number,
    p: number,
    sv: Int32Array,
  ) => number,
  read: lib.func('int read(int fd, uint8_t *buf, size_t count)') as (fd: number, buf: Uint8Array, n: number) => number,
  write: lib.func('int write(int fd, const uint8_t *buf, size_t count)') as (
    fd: number,
    buf: Uint8Array,
    n: number,
  ) => number,
};

const fds: number[] = [];
const watches: FdWatch[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
  for (const fd of fds.splice(0)) closeSync(fd);
});

function eventfd(): number {
  const fd = c.eventfd(0, O_NONBLOCK | O_CLOEXEC);
  expect(fd).toBeGreaterThanOrEqual(0);
  fds.push(fd);
  return fd;
}
function signal(fd: number): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(1n);
  expect(c.write(fd, b, 8)).toBe(8);
}
function consume(fd: number): void {
  expect(c.read(fd, Buffer.alloc(8), 8)).toBe(8);
}
function pipe(): [number, number] {
  const p = new Int32Array(2);
  expect(c.pipe2(p, O_NONBLOCK | O_CLOEXEC)).toBe(0);
  fds.push(p[0] as number, p[1] as number);
  return [p[0] as number, p[1] as number];
}
function watch(fd: number, onReady: (events: number, err?: TandemError) => void): FdWatch {
  const w = new FdWatch(fd, onReady);
  watches.push(w);
  return w;
}
/** A few turns of the event loop, each long enough for epoll to report anything due. */
const turns = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('fdpoll: readiness', () => {
  it('reports readable only once there is data, again on every turn while it stays (level-triggered), and not after it is consumed', async () => {
    const fd = eventfd();
    const seen: number[] = [];
    const w = watch(fd, (events) => seen.push(events));
    w.watch(Readiness.READABLE);
    await turns();
    expect(seen).toEqual([]);
    signal(fd);
    await turns();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen)).toEqual(new Set([Readiness.READABLE]));
    consume(fd);
    await turns(5);
    const after = seen.length;
    await turns();
    expect(seen.length).toBe(after);
  });

  it('reports writable on a full pipe only once the reader makes room', async () => {
    const [r, wfd] = pipe();
    const chunk = Buffer.alloc(65536, 1);
    while (c.write(wfd, chunk, chunk.length) > 0);
    const seen: number[] = [];
    const w = watch(wfd, (events) => {
      seen.push(events);
      w.watch(0);
    });
    w.watch(Readiness.WRITABLE);
    await turns();
    expect(seen).toEqual([]);
    while (c.read(r, chunk, chunk.length) > 0);
    await turns();
    expect(seen).toEqual([Readiness.WRITABLE]);
    expect(w.watching).toBe(0);
  });

  it('reports both directions of a socketpair with one watch', async () => {
    const sv = new Int32Array(2);
    expect(c.socketpair(1 /* AF_UNIX */, 2 /* SOCK_DGRAM */ | O_NONBLOCK | O_CLOEXEC, 0, sv)).toBe(0);
    fds.push(sv[0] as number, sv[1] as number);
    let events = 0;
    const w = watch(sv[0] as number, (e) => {
      events |= e;
      w.watch(0);
    });
    expect(c.write(sv[1] as number, Buffer.from('x'), 1)).toBe(1);
    w.watch(Readiness.READABLE | Readiness.WRITABLE);
    await turns();
    expect(events).toBe(Readiness.READABLE | Readiness.WRITABLE);
  });

  it('watch(0) stops reporting; watching again resumes', async () => {
    const fd = eventfd();
    let calls = 0;
    const w = watch(fd, () => calls++);
    w.watch(Readiness.READABLE);
    w.watch(0);
    signal(fd);
    await turns();
    expect(calls).toBe(0);
    w.watch(Readiness.READABLE);
    await turns();
    expect(calls).toBeGreaterThan(0);
  });
});

describe('fdpoll: close', () => {
  it('is idempotent, and the watch refuses to be used afterwards', () => {
    const w = watch(eventfd(), () => {});
    w.watch(Readiness.READABLE);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.watch(Readiness.READABLE)).toThrow(expect.objectContaining({ code: ErrorCodes.TUN }) as Error);
  });

  it('drops a report already due: closed before the loop polls, or by another handler in the same batch', async () => {
    const a = eventfd();
    const b = eventfd();
    signal(a);
    signal(b);
    let early = 0;
    const gone = watch(a, () => early++);
    gone.watch(Readiness.READABLE);
    gone.close();
    // Both fds are ready in the same epoll batch: whichever handler runs first closes the other.
    const ran: string[] = [];
    const wa: FdWatch = watch(a, () => {
      ran.push('a');
      wb.close();
      wa.close();
    });
    const wb: FdWatch = watch(b, () => {
      ran.push('b');
      wa.close();
      wb.close();
    });
    wa.watch(Readiness.READABLE);
    wb.watch(Readiness.READABLE);
    await turns();
    expect(early).toBe(0);
    expect(ran.length).toBe(1);
  });

  it('closing from inside its own handler stops it even though the fd stays readable', async () => {
    const fd = eventfd();
    signal(fd);
    let calls = 0;
    const w = watch(fd, () => {
      calls++;
      w.close();
    });
    w.watch(Readiness.READABLE);
    await turns();
    expect(calls).toBe(1);
  });
});

describe('fdpoll: errors', () => {
  it('a poll error (the pipe reader went away) reaches the handler as E_TUN and stops the watch', async () => {
    const [r, wfd] = pipe();
    const chunk = Buffer.alloc(65536, 1);
    while (c.write(wfd, chunk, chunk.length) > 0);
    const got: Array<[number, TandemError | undefined]> = [];
    const w = watch(wfd, (events, err) => got.push([events, err]));
    w.watch(Readiness.WRITABLE);
    closeSync(r);
    fds.splice(fds.indexOf(r), 1);
    await turns();
    expect(got.length).toBe(1);
    const [events, err] = got[0] as [number, TandemError | undefined];
    expect(events).toBe(0);
    expect(err).toBeInstanceOf(TandemError);
    expect(err?.code).toBe(ErrorCodes.TUN);
    expect(err?.message).toMatch(/poll failed: EBADF/);
    expect(w.watching).toBe(0);
  });

  it('an fd epoll cannot watch (a regular file) or no fd at all is refused with E_TUN', () => {
    const file = openSync(fileURLToPath(import.meta.url), 'r');
    fds.push(file);
    expect(() => new FdWatch(file, () => {})).toThrow(/EPERM/);
    expect(() => new FdWatch(-1, () => {})).toThrow(expect.objectContaining({ code: ErrorCodes.TUN }) as Error);
  });

  it('an addon that does not load is E_TUN saying how it is built, never a silent fallback', () => {
    let err: unknown;
    try {
      loadFdPoll('@tandem/fdpoll/no-such-addon');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe(ErrorCodes.TUN);
    expect((err as Error).message).toMatch(/did not load.*npm ci.*node-gyp/);
  });
});

/** Runs an ES module body in a child Node; resolves with its exit code and output, or 'timeout'. */
function child(
  body: string,
  args: string[] = [],
  timeoutMs = 10_000,
): Promise<{ code: number | 'timeout'; stdout: string; stderr: string }> {
  const prelude = `
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(`${root}packages/tunnel/package.json`)});
    const { FdPoll, READABLE, WRITABLE } = require('@tandem/fdpoll/addon');
    const lib = require('koffi').load('libc.so.6');
    const eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
    const write = lib.func('int write(int fd, const uint8_t *buf, size_t count)');
    const one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  `;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args, '--input-type=module', '-e', prelude + body],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        resolve({ code: e?.killed ? 'timeout' : typeof e?.code === 'number' ? e.code : 0, stdout, stderr });
      },
    );
  });
}

describe('fdpoll: the event loop and memory (child processes)', () => {
  it('an active watch keeps the process alive; a closed one, or an unref()d one, lets it exit', async () => {
    const make = `const fd = eventfd(0, 0o4000); const p = new FdPoll(fd, () => {}); p.watch(READABLE);`;
    const [active, closed, unrefd] = await Promise.all([
      child(make, [], 1500),
      child(`${make} p.close(); p.close();`),
      child(`${make} p.unref();`),
    ]);
    expect(active.code).toBe('timeout');
    expect(closed.code).toBe(0);
    expect(unrefd.code).toBe(0);
  });

  it('a worker thread that ends with a watch still active tears down cleanly (its loop closes with no handle left)', async () => {
    const r = await child(`
      const { Worker } = await import('node:worker_threads');
      const src = ${'`'}const { createRequire } = require('node:module');
        const req = createRequire(${'$'}{JSON.stringify(${JSON.stringify(`${root}packages/tunnel/package.json`)})});
        const { FdPoll, READABLE } = req('@tandem/fdpoll/addon');
        const lib = req('koffi').load('libc.so.6');
        const fd = lib.func('int eventfd(unsigned int initval, int flags)')(0, 0o4000);
        const idle = new FdPoll(fd, () => {});
        const active = new FdPoll(fd, () => {}); active.watch(READABLE);
        require('node:worker_threads').parentPort.postMessage('watching');${'`'};
      const w = new Worker(src, { eval: true, execArgv: [] });
      w.once('message', async () => { await w.terminate(); console.log('terminated'); });`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('terminated');
  });

  it('an error thrown by a handler reaches uncaughtException', async () => {
    const r = await child(`
      process.on('uncaughtException', (e) => { console.log('caught:' + e.message); process.exit(0); });
      const fd = eventfd(0, 0o4000); write(fd, one, 8);
      const p = new FdPoll(fd, () => { throw new Error('from handler'); }); p.watch(READABLE);`);
    expect(r.stdout.trim()).toBe('caught:from handler');
  });

  it('watches created and closed, or dropped unclosed for the GC, do not leak', async () => {
    const r = await child(
      `
      const fd = eventfd(0, 0o4000); write(fd, one, 8);
      const round = async (close) => {
        for (let i = 0; i < 20000; i++) {
          const p = new FdPoll(fd, () => {});
          p.watch(READABLE | WRITABLE); p.watch(0);
          if (close) p.close();
        }
        await new Promise((r) => setImmediate(r));
        global.gc(); await new Promise((r) => setTimeout(r, 20)); global.gc();
        await new Promise((r) => setTimeout(r, 20));
      };
      for (let i = 0; i < 3; i++) { await round(true); await round(false); }
      const base = process.memoryUsage().rss;
      for (let i = 0; i < 10; i++) { await round(true); await round(false); }
      console.log(JSON.stringify({ growthMiB: (process.memoryUsage().rss - base) / 2 ** 20 }));`,
      ['--expose-gc'],
      60_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const { growthMiB } = JSON.parse(r.stdout) as { growthMiB: number };
    // 400 000 watches; a leaked handle is ~200 bytes of C plus its JS wrapper, so a leak is ≥ 75 MiB.
    console.log(`[fdpoll] RSS growth over 400 000 watches: ${growthMiB.toFixed(1)} MiB`);
    expect(growthMiB).toBeLessThan(16);
  }, 90_000);
});
