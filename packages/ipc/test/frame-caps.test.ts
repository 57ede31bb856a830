/**
 * Frame caps derived from the contract: the largest legal `certs.list` answer fits (a user with
 * the most certificates the contract allows keeps the signer connection), one byte more does
 * not, large frames are legal only while their answer is awaited, a frame before `hello` may
 * only be as long as a `hello`, and an answer the agent would send beyond what clients read
 * becomes a typed error instead.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, ErrorCodes, RingSink, TandemError } from '@tandem/common';
import {
  API_VERSION,
  CERTIFICATE_DER_MAX,
  CERTS_LIST_MAX,
  CHAIN_MAX,
  CHOICE_REASONS_MAX,
  type CertificateInfo,
  type ReverseResult,
} from '@tandem/contract';
import { AGENT_FRAME_MAX, FRAME_CAPS } from '@tandem/ipc';
import { connectIpc } from '@tandem/ipc/client';
import { createIpcServer, DEFAULT_LIMITS, NoiseLog, Session } from '@tandem/ipc/server';
import { fakeHandlers, socketDir } from './fixtures.js';

const logger = createLogger({ level: 'error', sinks: [] });
const HELLO = { id: 1, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'test' } };
const line = (v: unknown): Buffer => Buffer.from(`${JSON.stringify(v)}\n`);

/** A session as the agent runs it, with everything it sends parsed into `out`. */
function session() {
  const out: Array<Record<string, unknown>> = [];
  const state = { closed: false };
  const s = new Session({
    peer: { pid: 1, uid: 60001, gid: 60001 },
    perms: ['read', 'control'],
    handlers: fakeHandlers(),
    agentVersion: 'test',
    logger,
    limits: DEFAULT_LIMITS,
    noise: new NoiseLog(logger, 10_000),
    send: (frame) => out.push(JSON.parse(frame) as Record<string, unknown>),
    close: () => (state.closed = true),
  });
  return { s, out, state };
}

/** Feeds `buf` in 64 KiB chunks, as a socket delivers it. */
function feed(s: Session, buf: Buffer): void {
  for (let i = 0; i < buf.length; i += 65536) s.receive(buf.subarray(i, i + 65536));
}

/** The longest certificate entry the contract allows (escaped text fills 6 bytes a character). */
function largestCertificate(i: number): CertificateInfo {
  const der = 'A'.repeat(CERTIFICATE_DER_MAX);
  return {
    sha256: i.toString(16).padStart(64, '0'),
    subject: '\u0001'.repeat(1024),
    issuer: '\u0002'.repeat(1024),
    notBefore: `2026-01-01T00:00:00.${'0'.repeat(19)}Z`,
    notAfter: `2027-01-01T00:00:00.${'0'.repeat(19)}Z`,
    keyType: 'ed25519',
    keyBits: Number.MAX_SAFE_INTEGER,
    store: '\u0003'.repeat(64),
    eku: Array.from({ length: 32 }, () => '1.'.repeat(32).slice(0, 64)),
    der,
    chain: Array.from({ length: CHAIN_MAX }, () => der),
  };
}

const largestList = (): ReverseResult<'certs.list'> => ({
  certificates: Array.from({ length: CERTS_LIST_MAX }, (_, i) => largestCertificate(i)),
});

describe('frame caps derived from the contract', () => {
  it('the largest legal certs.list answer fits the cap exactly', async () => {
    const { s, out, state } = session();
    s.receive(line(HELLO));
    const answer = s.reverse('certs.list', { purpose: 'mca' });
    const rid = out.find((f) => f.request === 'certs.list')!.rid as number;
    const frame = line({ rid, result: largestList() });
    // The bound is tight: only the rid's digits are shorter than the worst case.
    expect(frame.length - 1).toBeLessThanOrEqual(FRAME_CAPS.reverse['certs.list']);
    expect(frame.length - 1).toBeGreaterThan(FRAME_CAPS.reverse['certs.list'] - 32);
    expect(FRAME_CAPS.reverse['certs.list']).toBeGreaterThan(4 * 1024 * 1024);
    feed(s, frame);
    const got = await answer;
    expect(got.certificates).toHaveLength(CERTS_LIST_MAX);
    expect(state.closed).toBe(false);
  });

  it('one byte over the cap closes the connection and fails the question', async () => {
    const { s, out, state } = session();
    s.receive(line(HELLO));
    const answer = s.reverse('certs.list', { purpose: 'mca' });
    const rid = out.find((f) => f.request === 'certs.list')!.rid as number;
    const frame = line({ rid, result: largestList() });
    const over = FRAME_CAPS.reverse['certs.list'] + 1 - (frame.length - 1);
    // Unknown keys are tolerated in answers (newer clients), so padding is otherwise legal.
    feed(s, line({ rid, result: { ...largestList(), pad: 'x'.repeat(over - ',"pad":""'.length) } }));
    await expect(answer).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED });
    expect(state.closed).toBe(true);
    expect(out.at(-1)).toMatchObject({ id: null, error: { code: ErrorCodes.IPC_FRAME } });
  });

  it('certs.choose (API 1.5): the largest legal question fits what clients read, and its answer needs no large frame', async () => {
    const { s, out, state } = session();
    s.receive(line(HELLO));
    const widest = {
      sha256: 'f'.repeat(64),
      subject: '\u0001'.repeat(1024),
      issuer: '\u0002'.repeat(1024),
      notAfter: `2027-01-01T00:00:00.${'0'.repeat(19)}Z`,
      store: '\u0003'.repeat(64),
      accepted: false,
      reasons: Array.from({ length: CHOICE_REASONS_MAX }, () => '\u0004'.repeat(512)),
    };
    const answer = s.reverse('certs.choose', {
      candidates: Array.from({ length: CERTS_LIST_MAX }, () => widest),
      remember: false,
    });
    const asked = out.find((f) => f.request === 'certs.choose')!;
    expect(Buffer.byteLength(JSON.stringify(asked))).toBeLessThan(AGENT_FRAME_MAX);
    // Covered by the derivation: the answer is a small frame, like an error answer.
    expect(FRAME_CAPS.reverse['certs.choose']).toBe(FRAME_CAPS.request);
    feed(s, line({ rid: asked.rid, result: { cancelled: false, sha256: 'a'.repeat(64) } }));
    await expect(answer).resolves.toEqual({ cancelled: false, sha256: 'a'.repeat(64) });
    expect(state.closed).toBe(false);
  });

  it('a large frame is refused when no large answer is awaited', () => {
    const { s, out, state } = session();
    s.receive(line(HELLO));
    expect(FRAME_CAPS.request).toBeLessThan(64 * 1024);
    feed(s, line({ rid: 1, result: { certificates: [largestCertificate(1)] } }));
    expect(state.closed).toBe(true);
    expect(out.at(-1)).toMatchObject({ error: { code: ErrorCodes.IPC_FRAME } });
  });

  it('before hello only a hello-sized frame is read; after it, the largest legal request fits', async () => {
    const early = session();
    early.s.receive(
      line({ ...HELLO, params: { apiVersion: API_VERSION, clientVersion: 'x'.repeat(FRAME_CAPS.hello) } }),
    );
    expect(early.state.closed).toBe(true);

    const { s, out, state } = session();
    // hello and the largest connect in one chunk: the cap is asked again for every frame.
    const url = `https://${'\u0001'.repeat(2040)}`;
    s.receive(Buffer.concat([line(HELLO), line({ id: 'i'.repeat(64), method: 'connect', params: { url } })]));
    await new Promise((r) => setImmediate(r));
    expect(state.closed).toBe(false);
    expect(out[0]).toMatchObject({ id: 1, result: { apiVersion: API_VERSION } });
    expect(out[1]).toMatchObject({ id: 'i'.repeat(64), result: { accepted: true } });
  });

  it('an answer larger than clients read becomes E_IPC_LIMIT, and the connection lives on', async () => {
    const tmp = await socketDir();
    const handlers = fakeHandlers();
    const huge = { name: 'n', value: '\u0001'.repeat(1024) };
    handlers.stats = () =>
      Promise.resolve({ sections: Array(32).fill({ title: 't', entries: Array(128).fill(huge) }) });
    const ring = new RingSink(100);
    const server = createIpcServer({
      socketPath: tmp.path,
      handlers,
      agentVersion: 'test',
      logger: createLogger({ level: 'warn', sinks: [ring.sink] }),
    });
    await server.listen();
    try {
      const client = await connectIpc({ socketPath: tmp.path, clientVersion: 'test', allowNonRootOwner: true });
      try {
        const err = await client.call('stats', {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TandemError);
        expect(err).toMatchObject({ code: ErrorCodes.IPC_LIMIT });
        expect((err as Error).message).toContain(String(AGENT_FRAME_MAX));
        expect((await client.call('status', {})).user.tunnel).toBe('user');
      } finally {
        client.close();
      }
    } finally {
      await server.close();
      await tmp.cleanup();
    }
    expect(ring.records().some((r) => r.msg.includes('answer larger than the frame cap'))).toBe(true);
  });
});
