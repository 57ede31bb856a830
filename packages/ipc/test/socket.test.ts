/** Server and client in-process over a real temporary Unix socket. */
import { API_VERSION } from '@tandem/contract';
import { chown } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, RingSink, createLogger, isTandemError, redactor } from '@tandem/common';
import { connectIpc, type IpcClient } from '@tandem/ipc/client';
import { createIpcServer, type IpcServer, type IpcServerOptions } from '@tandem/ipc/server';
import { SNAPSHOT, fakeHandlers, isRoot, socketDir } from './fixtures.js';
import { rawConnect } from './raw.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(extra: Partial<IpcServerOptions> = {}): Promise<{ server: IpcServer; path: string }> {
  const tmp = await socketDir();
  const server = createIpcServer({
    socketPath: tmp.path,
    handlers: fakeHandlers(),
    agentVersion: '0.1.0-test',
    ...extra,
  });
  await server.listen();
  cleanups.push(tmp.cleanup, () => server.close());
  return { server, path: tmp.path };
}

async function client(path: string, extra: Partial<Parameters<typeof connectIpc>[0]> = {}): Promise<IpcClient> {
  const c = await connectIpc({ socketPath: path, clientVersion: '0.1.0-test', allowNonRootOwner: !isRoot, ...extra });
  cleanups.push(() => c.close());
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isTandemError(err) ? err.code : `untyped: ${String(err)}`;
  }
}

describe('ipc over a real Unix socket', () => {
  it('says hello with version, permissions and uid, then returns typed results', async () => {
    const { path } = await start();
    const c = await client(path);
    expect(c.apiVersion).toBe(API_VERSION);
    expect(c.agentVersion).toBe('0.1.0-test');
    expect(c.uid).toBe(process.getuid!());
    expect(c.permissions).toEqual(isRoot ? ['read', 'control', 'admin'] : ['read', 'control']);
    const status = await c.call('status', {});
    // Typed: `status.user.status` is the union; narrowing on `state` reaches connected-only fields.
    expect(status.user.status.state).toBe('connected');
    if (status.user.status.state === 'connected') expect(status.user.status.bytesIn).toBe(1234);
    expect(status).toEqual(SNAPSHOT);
  });

  it('refuses a mismatching API major with E_VERSION_MISMATCH and gates every call behind hello', async () => {
    const { path } = await start();
    const raw = await rawConnect(path);
    raw.send(`${JSON.stringify({ id: 1, method: 'status', params: {} })}\n`);
    raw.send(
      `${JSON.stringify({ id: 2, method: 'hello', params: { apiVersion: API_VERSION + 1, clientVersion: 'future' } })}\n`,
    );
    raw.send(
      `${JSON.stringify({ id: 3, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'now' } })}\n`,
    );
    raw.send(`${JSON.stringify({ id: 4, method: 'hosts', params: {} })}\n`);
    const frames = (await raw.waitFrames(4)) as Array<{
      id: number;
      error?: { code: string; details?: unknown };
      result?: unknown;
    }>;
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)?.error?.code).toBe(ErrorCodes.VERSION_MISMATCH);
    expect(byId.get(2)?.error?.code).toBe(ErrorCodes.VERSION_MISMATCH);
    expect(byId.get(2)?.error?.details).toMatchObject({
      agentApiVersion: API_VERSION,
      clientApiVersion: API_VERSION + 1,
    });
    expect(byId.get(3)?.result).toMatchObject({ apiVersion: API_VERSION });
    expect(byId.get(4)?.result).toMatchObject({ hosts: [{ name: 'Corp' }] });
    raw.socket.destroy();
  });

  it('answers an unknown method with E_IPC_METHOD and bad params with E_IPC_PARAMS', async () => {
    const { path } = await start();
    const c = await client(path);
    expect(await codeOf(c.call('nope' as 'status', {}))).toBe(ErrorCodes.IPC_METHOD);
    const raw = await rawConnect(path);
    raw.send(
      `${JSON.stringify({ id: 1, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'x' } })}\n`,
    );
    raw.send(`${JSON.stringify({ id: 2, method: 'frobnicate', params: {} })}\n`);
    raw.send(`${JSON.stringify({ id: 3, method: '__proto__', params: {} })}\n`);
    raw.send(`${JSON.stringify({ id: 4, method: 'connect', params: { host: 42 } })}\n`);
    raw.send(`${JSON.stringify({ id: 5, method: 'connect', params: { host: 'a', cookie: 'x' } })}\n`);
    raw.send(`${JSON.stringify({ id: 6, method: 'connect', params: { url: 'http://plain.example' } })}\n`);
    raw.send(`${JSON.stringify({ id: 7, method: 'logs.tail', params: { lines: 1e9 } })}\n`);
    const frames = (await raw.waitFrames(7)) as Array<{ id: number; error?: { code: string } }>;
    const codes = Object.fromEntries(frames.map((f) => [f.id, f.error?.code ?? 'ok']));
    expect(codes).toEqual({
      1: 'ok',
      2: ErrorCodes.IPC_METHOD,
      3: ErrorCodes.IPC_METHOD,
      4: ErrorCodes.IPC_PARAMS,
      5: ErrorCodes.IPC_PARAMS,
      6: ErrorCodes.IPC_PARAMS,
      7: ErrorCodes.IPC_PARAMS,
    });
    // Typed client: the same bad params come back as a TandemError with the code.
    expect(await codeOf(c.call('connect', { host: 42 as unknown as string }))).toBe(ErrorCodes.IPC_PARAMS);
    raw.socket.destroy();
  });

  it('refuses admin methods to a user role and allows read/control (injected credentials)', async () => {
    const calls: Array<{ method: string; uid: number }> = [];
    const { path } = await start({
      handlers: fakeHandlers(calls),
      readCredentials: () => ({ pid: 1, uid: 1000, gid: 1000 }),
    });
    const c = await client(path);
    expect(c.uid).toBe(1000);
    expect(c.permissions).toEqual(['read', 'control']);
    expect(await codeOf(c.call('machineTunnel.enable', {}))).toBe(ErrorCodes.PERMISSION);
    expect(await codeOf(c.call('machineTunnel.disable', {}))).toBe(ErrorCodes.PERMISSION);
    expect(await codeOf(c.call('logs.tail', {}))).toBe(ErrorCodes.PERMISSION);
    expect(await codeOf(c.call('connect', { host: 'Corp' }))).toBe('ok');
    expect(await codeOf(c.call('status', {}))).toBe('ok');
    expect(calls.map((x) => x.method)).toEqual(['connect', 'status']);
  });

  it('treats a member of the configured admin gid as admin', async () => {
    const { path } = await start({
      readCredentials: () => ({ pid: 1, uid: 1000, gid: 4242 }),
      policy: { adminGid: 4242 },
    });
    const c = await client(path);
    expect(c.permissions).toEqual(['read', 'control', 'admin']);
    expect(await codeOf(c.call('logs.tail', { lines: 1 }))).toBe('ok');
  });

  it('fails closed when peer credentials cannot be read: the connection is refused', async () => {
    const { server, path } = await start({
      readCredentials: () => {
        throw new Error('getsockopt failed');
      },
    });
    expect(await codeOf(client(path))).toBe(ErrorCodes.IPC_CLOSED);
    expect(server.counters.refused).toBe(1);
    expect(server.counters.accepted).toBe(0);
  });

  it('watch: snapshot first, then events; admin-only events reach admins only', async () => {
    let uid = 0;
    const { server, path } = await start({ readCredentials: () => ({ pid: 1, uid, gid: uid }) });
    const admin = await client(path);
    uid = 1000;
    const user = await client(path);
    const got: Record<string, string[]> = { admin: [], user: [] };
    for (const [name, c] of [
      ['admin', admin],
      ['user', user],
    ] as const) {
      c.on('state', (d) => got[name]!.push(`state:${d.user.status.state}`));
      c.on('log', (d) => got[name]!.push(`log:${d.msg}`));
    }
    const w1 = await admin.call('watch', { events: ['state', 'log'] });
    const w2 = await user.call('watch', { events: ['state', 'log'] });
    expect(w1.subscribed).toEqual(['state', 'log']);
    expect(w2.subscribed).toEqual(['state']);
    expect(w1.snapshot).toEqual(SNAPSHOT);
    const idle = { ...SNAPSHOT, user: { tunnel: 'user' as const, status: { state: 'idle' as const } } };
    expect(server.broadcast('state', idle)).toBe(2);
    expect(server.broadcast('log', { time: '2026-01-01T00:00:00.000Z', level: 'info', scope: 'x', msg: 'm' })).toBe(1);
    await admin.call('status', {});
    await user.call('status', {});
    expect(got.admin).toEqual(['state:idle', 'log:m']);
    expect(got.user).toEqual(['state:idle']);
    // An event outside the contract (an extra field) is refused before it can leave the agent.
    expect(() => server.broadcast('state', { ...idle, cookie: 'webvpn=secret' } as typeof idle)).toThrow(
      /outside the contract/,
    );
  });

  it('reverse requests: the agent asks the user process to sign, answers are validated', async () => {
    let signedWith = '';
    const handlers = fakeHandlers();
    handlers.connect = async (_p, ctx) => {
      const list = await ctx.reverse('certs.list', { purpose: 'mca' });
      const cert = list.certificates[0]!;
      const sig = await ctx.reverse('certs.sign', {
        sha256: cert.sha256,
        algorithm: 'sha256',
        data: Buffer.from('challenge').toString('base64'),
      });
      signedWith = `${cert.sha256}:${sig.signature}`;
      return { accepted: true, tunnel: SNAPSHOT.user };
    };
    handlers.disconnect = async (_p, ctx) => {
      await ctx.reverse('prompt', { kind: 'confirm', title: 't', message: 'm' });
      return { tunnel: SNAPSHOT.user };
    };
    const { path } = await start({ handlers });
    const c = await client(path, {
      reverseHandlers: {
        'certs.list': async () => ({
          certificates: [
            {
              sha256: 'b'.repeat(64),
              subject: 'CN=alice',
              issuer: 'CN=Corp CA',
              notBefore: '2026-01-01T00:00:00Z',
              notAfter: '2027-01-01T00:00:00Z',
              keyType: 'ec',
              keyBits: 256,
            },
          ],
        }),
        'certs.sign': async (p) => ({
          signature: Buffer.from(`sig(${Buffer.from(p.data, 'base64').toString()})`).toString('base64'),
        }),
        // A broken user process: answers outside the contract must not reach the engine.
        prompt: async () => ({ cancelled: 'no' }) as unknown as { cancelled: boolean },
      },
    });
    await c.call('connect', { host: 'Corp' });
    expect(signedWith).toBe(`${'b'.repeat(64)}:${Buffer.from('sig(challenge)').toString('base64')}`);
    expect(await codeOf(c.call('disconnect', {}))).toBe(ErrorCodes.IPC_PARAMS);
  });

  it('a reverse request to a client without that handler fails with E_IPC_METHOD', async () => {
    const handlers = fakeHandlers();
    handlers.connect = async (_p, ctx) => {
      await ctx.reverse('certs.list', { purpose: 'mca' });
      return { accepted: true, tunnel: SNAPSHOT.user };
    };
    const { path } = await start({ handlers });
    const c = await client(path);
    expect(await codeOf(c.call('connect', {}))).toBe(ErrorCodes.IPC_METHOD);
  });

  it('never leaks handler internals or secrets, and redacts what it logs', async () => {
    const ring = new RingSink();
    const logger = createLogger({ sinks: [ring.sink], level: 'debug' });
    redactor.addSecret('s3cr3t-cookie-value');
    cleanups.push(() => redactor.removeSecret('s3cr3t-cookie-value'));
    const handlers = fakeHandlers();
    handlers.hosts = async () => {
      throw new Error('db exploded near webvpn=s3cr3t-cookie-value');
    };
    handlers.stats = async () => ({ sections: [], cookie: 'webvpn=abc' }) as never;
    const { path } = await start({ handlers, logger });
    const c = await client(path);
    const err = await c.call('hosts', {}).catch((e: unknown) => e);
    expect(isTandemError(err, ErrorCodes.INTERNAL)).toBe(true);
    expect((err as Error).message).not.toMatch(/s3cr3t|exploded/);
    expect(await codeOf(c.call('stats', {}))).toBe(ErrorCodes.INTERNAL);
    const logged = JSON.stringify(ring.records());
    expect(logged).toContain('handler failed');
    expect(logged).not.toContain('s3cr3t-cookie-value');
  });

  it('enforces the per-uid connection cap', async () => {
    const { server, path } = await start({ limits: { maxConnectionsPerUid: 3 } });
    for (let i = 0; i < 3; i++) await client(path);
    expect(await codeOf(client(path))).toBe(ErrorCodes.IPC_LIMIT);
    expect(server.connections().length).toBe(3);
  });

  it('refuses a non-Unix or relative listen path', () => {
    for (const bad of [
      'tandemd.sock',
      './x.sock',
      '',
      '\\\\.\\pipe\\tandem',
      8080 as unknown as string,
      `/${'a'.repeat(200)}`,
    ]) {
      expect(() => createIpcServer({ socketPath: bad, handlers: fakeHandlers(), agentVersion: 'x' })).toThrow();
    }
  });

  it.skipIf(!isRoot)('client refuses a socket not owned by root (mullvad verifyOwnership)', async () => {
    const { path } = await start();
    await chown(path, 65534, 65534);
    expect(await codeOf(connectIpc({ socketPath: path, clientVersion: 't' }))).toBe(ErrorCodes.IPC_UNTRUSTED_SOCKET);
    const c = await client(path, { allowNonRootOwner: true });
    expect(c.uid).toBe(0);
  });
});
