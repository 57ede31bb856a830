/**
 * Property tests of the frame decoder + dispatcher (transport-free, ≥ 10,000 frames) and a
 * smaller run over the real socket, after which the server must still answer `hello`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, nullLogger } from '@tandem/common';
import { API_VERSION } from '@tandem/contract';
import { METHOD_NAMES, contract, validate, type MethodSpec } from '@tandem/contract';
import { connectIpc } from '@tandem/ipc/client';
import { DEFAULT_LIMITS, NoiseLog, Session, createIpcServer } from '@tandem/ipc/server';
import { VALID_PARAMS, fakeHandlers, isRoot, socketDir } from './fixtures.js';

/** Outside fc.integer()'s 32-bit range and not a string, so fuzzed frames cannot reuse it. */
const HELLO_ID = 2 ** 40;
const CODES = new Set<string>(Object.values(ErrorCodes));

/** Frames that look like requests: real or fake method names, params that are right or subtly wrong. */
const requestLike = fc
  .record(
    {
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 80 }), fc.constant(null), fc.double()),
      method: fc.oneof(
        fc.constantFrom(...METHOD_NAMES, '__proto__', 'constructor', 'toString'),
        fc.string({ maxLength: 70 }),
      ),
      params: fc.oneof(
        fc.constantFrom(...METHOD_NAMES.map((m) => VALID_PARAMS[m] as unknown)),
        fc.jsonValue({ maxDepth: 4 }),
        fc.record(
          {
            host: fc.oneof(fc.string(), fc.integer()),
            url: fc.string(),
            lines: fc.integer(),
            events: fc.array(fc.string()),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

const deepNest = fc.integer({ min: 1, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const hugeString = fc
  .integer({ min: 60_000, max: 70_000 })
  .map((n) => JSON.stringify({ id: 1, method: 'connect', params: { host: 'x'.repeat(n) } }));
const junk = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
);
const frameText = fc.oneof(
  { weight: 5, arbitrary: requestLike },
  { weight: 3, arbitrary: junk },
  { weight: 1, arbitrary: deepNest },
  { weight: 1, arbitrary: hugeString },
);

interface Out {
  id?: unknown;
  result?: unknown;
  error?: { code: string; message: string };
}

/** Runs frames through a fresh session; returns the decoded outputs and whether it closed. */
async function feed(chunks: Buffer[], helloFirst: boolean): Promise<{ out: Out[]; closed: boolean }> {
  const out: Out[] = [];
  let closed = false;
  const session = new Session({
    peer: { pid: 1, uid: 1000, gid: 1000 },
    perms: ['read', 'control'],
    handlers: fakeHandlers(),
    agentVersion: 'fuzz',
    logger: nullLogger,
    limits: DEFAULT_LIMITS,
    noise: new NoiseLog(nullLogger, 10_000),
    send: (frame) => {
      expect(frame.endsWith('\n')).toBe(true);
      out.push(JSON.parse(frame) as Out);
    },
    close: () => (closed = true),
  });
  if (helloFirst)
    session.receive(Buffer.from(`${JSON.stringify({ id: HELLO_ID, method: 'hello', params: VALID_PARAMS.hello })}\n`));
  for (const c of chunks) session.receive(c);
  await new Promise((r) => setImmediate(r));
  return { out, closed };
}

/** Every output is a typed error with a known code, or a result that satisfies the contract. */
function assertTyped(o: Out, methodsById: Map<unknown, Set<string>>): void {
  if (o.error) {
    expect(CODES.has(o.error.code)).toBe(true);
    expect(typeof o.error.message).toBe('string');
    return;
  }
  const methods = [...(methodsById.get(o.id) ?? [])].filter((m): m is keyof typeof contract.methods =>
    Object.hasOwn(contract.methods, m),
  );
  const fits = methods.some((m) => validate((contract.methods[m] as MethodSpec).result, o.result).ok);
  expect(fits).toBe(true);
}

describe('IPC fuzzing', () => {
  it('decoder + dispatcher: 10,000 random frames never crash and every answer is typed', async () => {
    let frames = 0;
    let errors = 0;
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameText, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4096 }),
        async (texts, helloFirst, split) => {
          frames += texts.length;
          const bytes = Buffer.from(texts.map((t) => `${t}\n`).join(''), 'utf8');
          // Split the stream at an arbitrary boundary: framing must not depend on chunking.
          const chunks: Buffer[] = [];
          for (let i = 0; i < bytes.length; i += split) chunks.push(bytes.subarray(i, i + split));
          // Ids may repeat within a run, so each id maps to every method sent with it.
          const methodsById = new Map<unknown, Set<string>>([[HELLO_ID, new Set(['hello'])]]);
          for (const t of texts) {
            try {
              const v = JSON.parse(t) as { id?: unknown; method?: unknown };
              if (v && typeof v === 'object' && typeof v.method === 'string')
                methodsById.set(v.id, (methodsById.get(v.id) ?? new Set()).add(v.method));
            } catch {
              /* junk frame */
            }
          }
          const { out } = await feed(chunks, helloFirst);
          for (const o of out) {
            assertTyped(o, methodsById);
            if (o.error) errors++;
          }
        },
      ),
      { numRuns: 6000 },
    );
    const secs = (performance.now() - t0) / 1000;
    console.log(`[fuzz] ${frames} frames, ${errors} typed errors, ${(frames / secs).toFixed(0)} frames/s`);
    expect(frames).toBeGreaterThanOrEqual(10_000);
  }, 120_000);

  it('an oversized frame is refused before parsing and closes the connection', async () => {
    const { out, closed } = await feed([Buffer.alloc(DEFAULT_LIMITS.frameCaps.request + 1, 0x61)], true);
    expect(closed).toBe(true);
    expect(out.at(-1)?.error?.code).toBe(ErrorCodes.IPC_FRAME);
  });

  it(`${DEFAULT_LIMITS.maxBadFrames} malformed frames close the connection`, async () => {
    const { out, closed } = await feed([Buffer.from('nope\n'.repeat(20))], true);
    expect(closed).toBe(true);
    expect(out.filter((o) => o.error?.code === ErrorCodes.IPC_FRAME)).toHaveLength(DEFAULT_LIMITS.maxBadFrames);
  });

  it('500 random frames over the real socket, then the server still answers hello', async () => {
    const tmp = await socketDir();
    const server = createIpcServer({ socketPath: tmp.path, handlers: fakeHandlers(), agentVersion: 'fuzz' });
    await server.listen();
    try {
      const net = await import('node:net');
      const samples = fc.sample(frameText, { numRuns: 500, seed: 42 });
      // Spread over several connections, since bad frames close a connection by design.
      for (let i = 0; i < samples.length; i += 25) {
        const s = net.createConnection({ path: tmp.path });
        s.on('error', () => undefined);
        s.on('data', () => undefined);
        await new Promise((r) => s.once('connect', r));
        s.write(
          samples
            .slice(i, i + 25)
            .map((t) => `${t}\n`)
            .join(''),
        );
        await new Promise((r) => setTimeout(r, 5));
        s.destroy();
      }
      const c = await connectIpc({ socketPath: tmp.path, clientVersion: 'after-fuzz', allowNonRootOwner: !isRoot });
      expect(c.apiVersion).toBe(API_VERSION);
      expect((await c.call('status', {})).machine.tunnel).toBe('machine');
      c.close();
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  }, 60_000);
});
