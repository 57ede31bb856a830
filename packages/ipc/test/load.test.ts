/**
 * Reliability under load (R6): a client that never reads is dropped at the send-queue cap,
 * 64 concurrent clients are served, and the server opens no inet socket.
 */
import { API_VERSION } from '@tandem/contract';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { connectIpc } from '@tandem/ipc/client';
import { createIpcServer, type IpcServer } from '@tandem/ipc/server';
import { SNAPSHOT, fakeHandlers, isRoot, socketDir } from './fixtures.js';
import { rawConnect } from './raw.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(limits = {}): Promise<{ server: IpcServer; path: string }> {
  const tmp = await socketDir();
  const server = createIpcServer({ socketPath: tmp.path, handlers: fakeHandlers(), agentVersion: 'load', limits });
  await server.listen();
  cleanups.push(tmp.cleanup, () => server.close());
  return { server, path: tmp.path };
}

const LOG = { time: '2026-01-01T00:00:00.000Z', level: 'info' as const, scope: 'load', msg: 'y'.repeat(8000) };

describe('ipc under load', () => {
  it('drops a client that never reads once its queue passes the cap; others keep working', async () => {
    const { server, path } = await start({ maxQueueBytes: 1024 * 1024 });
    const slow = await rawConnect(path);
    slow.send(
      `${JSON.stringify({ id: 1, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'slow' } })}\n`,
    );
    slow.send(`${JSON.stringify({ id: 2, method: 'watch', params: { events: ['state', 'log'] } })}\n`);
    await slow.waitFrames(2);
    slow.socket.pause(); // stop reading: the kernel buffer fills, then the agent's queue
    const fast = await connectIpc({ socketPath: path, clientVersion: 'fast', allowNonRootOwner: !isRoot });
    cleanups.push(() => fast.close());
    let fastEvents = 0;
    fast.on('log', () => fastEvents++);
    await fast.call('watch', { events: ['log'] });
    let sent = 0;
    for (let i = 0; i < 2000 && server.counters.dropped === 0; i++) {
      server.broadcast('log', LOG);
      sent += LOG.msg.length;
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // let the fast client drain
    }
    expect(server.counters.dropped).toBe(1);
    console.log(`[load] slow client dropped after ~${(sent / 1024 / 1024).toFixed(1)} MiB of events`);
    slow.socket.resume(); // a paused socket would never see the EOF behind its unread data
    await slow.closed;
    expect((await fast.call('status', {})).user.tunnel).toBe('user');
    expect(fastEvents).toBeGreaterThan(0);
    expect(server.connections()).toHaveLength(1);
  });

  it('serves 64 concurrent clients, each watching and calling', async () => {
    const { server, path } = await start();
    const clients = await Promise.all(
      Array.from({ length: 64 }, () =>
        connectIpc({ socketPath: path, clientVersion: 'c', allowNonRootOwner: !isRoot }),
      ),
    );
    cleanups.push(() => clients.forEach((c) => c.close()));
    expect(server.connections()).toHaveLength(64);
    const seen = clients.map(() => 0);
    clients.forEach((c, i) => c.on('state', () => seen[i]!++));
    await Promise.all(clients.map((c) => c.call('watch', { events: ['state'] })));
    expect(server.broadcast('state', SNAPSHOT)).toBe(64);
    const t0 = performance.now();
    const results = await Promise.all(clients.flatMap((c) => Array.from({ length: 30 }, () => c.call('status', {}))));
    const secs = (performance.now() - t0) / 1000;
    console.log(`[load] 64 clients x 30 status calls: ${(results.length / secs).toFixed(0)} calls/s`);
    expect(results).toHaveLength(64 * 30);
    expect(results.every((r) => r.machine.tunnel === 'machine')).toBe(true);
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('opens no TCP or UDP socket (compares /proc/self/fd inodes with /proc/net/{tcp,udp}{,6})', async () => {
    const { path } = await start();
    const c = await connectIpc({ socketPath: path, clientVersion: 'c', allowNonRootOwner: !isRoot });
    cleanups.push(() => c.close());
    await c.call('status', {});
    const mine = new Set<string>();
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) mine.add(m[1]!);
    }
    expect(mine.size).toBeGreaterThanOrEqual(3); // listener, server side, client side
    const inet: string[] = [];
    for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
      const text = await readFile(`/proc/net/${table}`, 'utf8').catch(() => '');
      for (const line of text.trim().split('\n').slice(1)) {
        const inode = line.trim().split(/\s+/)[9];
        if (inode && mine.has(inode)) inet.push(`${table}: ${line.trim()}`);
      }
    }
    expect(inet).toEqual([]);
    // And the sockets we do hold are Unix sockets.
    const unix = await readFile('/proc/net/unix', 'utf8');
    expect(unix).toContain(path);
  });
});
