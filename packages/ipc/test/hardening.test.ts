/**
 * What one local user can do to the agent's socket, and the bounds that hold against it: the
 * slots kept for administrators, the hello deadline, the idle timeout (watchers excepted), and
 * rate-limited logging of refusals and bad frames. Real server on a temporary Unix socket; the
 * peer's uid comes from a credential hook so several "users" share one test process.
 */
import { API_VERSION } from '@tandem/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, RingSink } from '@tandem/common';
import { createIpcServer, type CallContext, type IpcServer, type IpcServerOptions } from '@tandem/ipc/server';
import { fakeHandlers, SNAPSHOT, socketDir } from './fixtures.js';
import { rawConnect, type RawPeer } from './raw.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server whose next connections get the uids of `uids` in turn (root = 0). */
async function start(uids: number[], extra: Partial<IpcServerOptions> = {}) {
  const tmp = await socketDir();
  const ring = new RingSink(1000);
  let next = 0;
  const server: IpcServer = createIpcServer({
    socketPath: tmp.path,
    handlers: fakeHandlers(),
    agentVersion: '0.1.0-test',
    logger: createLogger({ level: 'debug', sinks: [ring.sink] }),
    readCredentials: () => {
      const uid = uids[Math.min(next++, uids.length - 1)]!;
      return { pid: 1, uid, gid: uid };
    },
    ...extra,
  });
  await server.listen();
  cleanups.push(tmp.cleanup, () => server.close());
  return { server, path: tmp.path, ring };
}

const HELLO = `${JSON.stringify({ id: 1, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'test' } })}\n`;

async function hello(peer: RawPeer): Promise<unknown> {
  peer.send(HELLO);
  const [frame] = await peer.waitFrames(1, 2000);
  return frame;
}

async function open(path: string): Promise<RawPeer> {
  const peer = await rawConnect(path);
  cleanups.push(() => void peer.socket.destroy());
  return peer;
}

describe('ipc server against its own local users', () => {
  it('keeps slots for administrators: users fill their share, root still gets in', async () => {
    const users = Array.from({ length: 6 }, (_, i) => 60000 + (i % 3));
    const { server, path } = await start([...users, 0, 0], {
      limits: { maxConnections: 6, reservedForAdmins: 2, maxConnectionsPerUid: 64 },
    });
    const held: RawPeer[] = [];
    for (let i = 0; i < 4; i++) held.push(await open(path));
    for (const p of held) expect(await hello(p)).toMatchObject({ id: 1, result: { uid: expect.any(Number) } });
    // Users 5 and 6 are refused although two slots are free: those are the administrators'.
    for (let i = 0; i < 2; i++) {
      const refused = await open(path);
      const [frame] = await refused.waitFrames(1, 2000);
      expect(frame).toMatchObject({ id: null, error: { code: 'E_IPC_LIMIT' } });
    }
    const root = await open(path);
    expect(await hello(root)).toMatchObject({ result: { uid: 0, permissions: ['read', 'control', 'admin'] } });
    expect(server.connections().filter((c) => c.peer.uid === 0)).toHaveLength(1);
  });

  it('closes a connection that never says hello (slowloris), and only that one', async () => {
    const { path, ring } = await start([60001, 60002], { limits: { helloTimeoutMs: 200, idleTimeoutMs: 60_000 } });
    const silent = await open(path);
    const polite = await open(path);
    expect(await hello(polite)).toMatchObject({ result: {} });
    // One byte a while: still no complete hello.
    silent.send('{');
    await silent.closed;
    expect(polite.socket.destroyed).toBe(false);
    expect(
      ring.records().some((r) => r.msg === 'closed connection: no hello in time' && r.fields?.['uid'] === 60001),
    ).toBe(true);
  });

  it('closes a connection that waits on nothing after the idle timeout; a watcher stays', async () => {
    const { path } = await start([60001, 60002], { limits: { helloTimeoutMs: 5000, idleTimeoutMs: 300 } });
    const idle = await open(path);
    const watcher = await open(path);
    await hello(idle);
    await hello(watcher);
    watcher.send(`${JSON.stringify({ id: 2, method: 'watch', params: { events: ['state'] } })}\n`);
    await watcher.waitFrames(2, 2000);
    const t0 = Date.now();
    await idle.closed;
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 700));
    expect(watcher.socket.destroyed).toBe(false);
  });

  it('a flood of refused connections becomes one line for the uid, then one summary with the count', async () => {
    const { path, ring } = await start([60001], {
      limits: { maxConnectionsPerUid: 1, noiseWindowMs: 300, maxBadFrames: 2 },
    });
    const holder = await open(path);
    await hello(holder);
    for (let i = 0; i < 25; i++) {
      const p = await open(path);
      await p.closed;
    }
    await new Promise((r) => setTimeout(r, 500));
    const refusals = ring.records().filter((r) => r.msg.startsWith('refused connection: connection limit'));
    expect(refusals.map((r) => r.msg)).toEqual([
      'refused connection: connection limit',
      'refused connection: connection limit (repeated)',
    ]);
    expect(refusals[1]!.fields).toMatchObject({ uid: 60001, count: 24 });
  });
});

describe("a user process's error answers", () => {
  it('keep a known code, lose their details, and come back as one short line', async () => {
    const handlers = fakeHandlers();
    const seen: unknown[] = [];
    handlers.connect = async (_p, ctx) => {
      for (let i = 0; i < 2; i++)
        await ctx.reverse('certs.list', { purpose: 'mca' }).catch((e: unknown) => seen.push(e));
      return { accepted: true, tunnel: SNAPSHOT.user };
    };
    const { path } = await start([60001], { handlers });
    const peer = await open(path);
    await hello(peer);
    peer.send(`${JSON.stringify({ id: 2, method: 'connect', params: {} })}\n`);
    const answer = async (error: Record<string, unknown>) => {
      const frames = await peer.waitFrames(peer.frames.length + 1, 2000);
      const rid = (frames.at(-1) as { rid: number }).rid;
      peer.send(`${JSON.stringify({ rid, error })}\n`);
    };
    await answer({
      code: 'E_CERT_SIGN',
      message: `token\nremoved${'!'.repeat(500)}`,
      details: { evil: { deep: [1, 2] } },
    });
    await answer({ code: 'E_NOT_A_CODE', message: 'made up' });
    await peer.waitFrames(4, 2000);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ code: 'E_CERT_SIGN', details: { fromPeer: true } });
    const first = seen[0] as Error & { details: Record<string, unknown> };
    expect(first.message).toMatch(/^token removed!+$/);
    expect(first.message.length).toBeLessThanOrEqual(200);
    expect(first.details).not.toHaveProperty('evil');
    expect(seen[1]).toMatchObject({ code: 'E_INTERNAL', message: 'made up', details: { fromPeer: true } });
  });
});

describe('signer liveness', () => {
  it('is the connection that called, not any connection of the same pid and uid', async () => {
    const handlers = fakeHandlers();
    let signer: CallContext | null = null;
    handlers.connect = async (_p, ctx) => {
      signer ??= ctx;
      return { accepted: true, tunnel: SNAPSHOT.user };
    };
    // Both connections report the same pid and uid, like two connections of one process.
    const { path } = await start([60001, 60001], { handlers });
    const first = await open(path);
    const second = await open(path);
    await hello(first);
    await hello(second);
    first.send(`${JSON.stringify({ id: 2, method: 'connect', params: {} })}\n`);
    await first.waitFrames(2, 2000);
    expect(signer!.isOpen()).toBe(true);
    first.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(signer!.isOpen()).toBe(false);
    expect(second.socket.destroyed).toBe(false);
  });
});
