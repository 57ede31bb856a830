/**
 * The hostile-local-user suite (issue 12): the real built tandemd, attacked through its socket
 * by several unprivileged uids at once (test/fixtures/agent/attacker.mjs, raw sockets so it can
 * misbehave). During every attack root's `status` must answer within 1 s on a fresh connection,
 * the agent's resident set and descriptors stay under stated bounds, and afterwards they come
 * back to the baseline; at the end the administrator's records are still in the log ring and
 * each flood left its rate-limited summary line. Bounds are docs/attack-surface.md's
 * ("Local users against the agent").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectIpc } from '@tandem/ipc/client';
import type { StatusSnapshot } from '@tandem/contract';
import { buildBundle } from '@tandem/diagnostics';
import { fakeGateways, httpResponse, missing, titled } from '@tandem/testkit';
import {
  ensureAgentBuilt,
  scratch,
  SERVICE_NODE_FLAGS,
  startAgent,
  type AgentProcess,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { Attacker, procSample, sleep, Watch, type ProcSample, type WatchReport } from './fixtures/agent/hostile.js';

const skip = missing('root');

/** The unprivileged uids that attack at once; the first four run every flood. */
const UIDS = [65534, 60001, 60002, 60003, 60004, 60005, 60006, 60007];
const FLOODERS = UIDS.slice(0, 4);
/** The uid of the active local session (the only non-admin the agent lets start the user tunnel). */
const CONSOLE_UID = 60010;

/** Root's `status`, connection and hello included, must answer within this during every attack. */
const ROOT_STATUS_MS = 1000;
/** Growth of the agent's resident set allowed during an attack (baseline ≈ 76 MiB, peak seen +56 MiB). */
const RSS_GROWTH_KB = 96 * 1024;
/**
 * How far above the baseline the resident set may stay once an attack is over and settled. V8
 * keeps the pages of a heap that grew under churn (the live heap itself returns), so the first
 * flood leaves a plateau (+45 to +52 MiB measured); what must not happen is growth attack after attack.
 */
const RSS_SETTLED_KB = 80 * 1024;
/** How far a later attack may leave the resident set above the plateau of the first flood. */
const RSS_RATCHET_KB = 16 * 1024;
/** Descriptors over (or under) the baseline tolerated once an attack is over. */
const FDS_SETTLED = 3;
/** The IPC caps (packages/ipc/src/server/limits.ts). */
const PER_UID = 64;
const MAX_CONNECTIONS = 512;
const FOR_USERS = MAX_CONNECTIONS - 32;
const HELLO_DEADLINE_MS = 10_000;
/** The diagnostics' bound on the agent's children (apps/agent/src/diag/exec.ts). */
const MAX_CHILDREN = 4;
/** The agent's authentication deadline (apps/agent/src/adapters/connection-runner.ts). */
const AUTH_DEADLINE_MS = 30_000;

/** An MCA challenge: the gateway asks for the user's certificate, which only the user's process has. */
const MCA_CHALLENGE =
  '<?xml version="1.0" encoding="UTF-8"?>\n<config-auth client="vpn" type="auth-request" aggregate-auth-version="2"><opaque is-for="sg"><aggauth-handle>7</aggauth-handle></opaque><multiple-client-cert-request><hash-algorithm>sha256</hash-algorithm></multiple-client-cert-request><random>AB</random><cert-authenticated></cert-authenticated></config-auth>';

describe.skipIf(skip !== null)(titled('tandemd against hostile local users (several uids at once)', skip), () => {
  const gateways = fakeGateways('thu');
  let s: Scratch;
  let agent: AgentProcess;
  let pid: number;
  let baseline: ProcSample;
  let gatewayPort: number;
  /** The settled resident set after the first flood (null until then, or when it is filtered out). */
  let plateauKb: number | null = null;

  async function rootCall<T>(
    method: 'status' | 'logs.tail' | 'machineTunnel.disable' | 'machineTunnel.enable',
    params = {},
  ) {
    const c = await connectIpc({ socketPath: s.socket, clientVersion: 'hostile-suite', timeoutMs: 5000 });
    try {
      return (await c.call(method, params)) as T;
    } finally {
      c.close();
    }
  }

  /** Runs `attack` while root probes `status` and the agent is sampled. */
  async function during<T>(attack: () => Promise<T>): Promise<{ result: T; seen: WatchReport }> {
    const watch = new Watch(pid, async () => void (await rootCall('status')));
    try {
      const result = await attack();
      return { result, seen: await watch.stop() };
    } catch (err) {
      await watch.stop();
      throw err;
    }
  }

  /** Root answered throughout, and the agent stayed under the bounds every attack shares. */
  function heldUp(seen: WatchReport, maxFds: number): void {
    const detail = JSON.stringify({ ...seen, baseline });
    expect(seen.failures, detail).toEqual([]);
    expect(seen.latencies.length, detail).toBeGreaterThanOrEqual(3);
    expect(Math.max(...seen.latencies), detail).toBeLessThan(ROOT_STATUS_MS);
    expect(seen.maxRssKb, detail).toBeLessThan(baseline.rssKb + RSS_GROWTH_KB);
    expect(seen.maxFds, detail).toBeLessThanOrEqual(maxFds);
  }

  /** Descriptors back to the baseline (± a few) and the resident set within the settle margin. */
  async function backToBaseline(extraFds = 0): Promise<ProcSample> {
    let now = procSample(pid);
    for (let i = 0; i < 40 && !(now.fds <= baseline.fds + FDS_SETTLED + extraFds); i++) {
      await sleep(250);
      now = procSample(pid);
    }
    const detail = JSON.stringify({ now, baseline });
    expect(now.fds, detail).toBeLessThanOrEqual(baseline.fds + FDS_SETTLED + extraFds);
    expect(now.fds, detail).toBeGreaterThanOrEqual(baseline.fds - FDS_SETTLED);
    expect(now.rssKb, detail).toBeLessThan(baseline.rssKb + RSS_SETTLED_KB);
    if (plateauKb !== null) expect(now.rssKb, detail).toBeLessThan(plateauKb + RSS_RATCHET_KB);
    expect(now.children, detail).toBe(baseline.children);
    return now;
  }

  beforeAll(async () => {
    ensureAgentBuilt();
    s = scratch();
    const lab = gateways.lab();
    const ca = join(s.dir, 'gateway-ca.pem');
    writeFileSync(ca, lab.caBundle, { mode: 0o644 });
    // logind's view, made up: CONSOLE_UID owns the active local session, so it may connect.
    const sessions = join(s.dir, 'sessions');
    mkdirSync(sessions, { mode: 0o755 });
    writeFileSync(join(sessions, 'c1'), `UID=${CONSOLE_UID}\nACTIVE=1\nREMOTE=0\n`, { mode: 0o644 });
    const gw = await gateways.gw(
      (_req, socket) => void socket.write(httpResponse('200 OK', ['Content-Type: text/xml'], MCA_CHALLENGE)),
    );
    gatewayPort = gw.port;
    agent = await startAgent(
      s,
      [
        '--no-cisco-profiles',
        '--gateway-ca',
        ca,
        '--resolve',
        'vpn.lab.test:127.0.0.1',
        '--logind-sessions-dir',
        sessions,
      ],
      {},
      SERVICE_NODE_FLAGS,
    );
    pid = agent.child.pid!;
    // The administrative record the floods must not evict.
    await rootCall('machineTunnel.disable');
    await rootCall('machineTunnel.enable');
    // Warm the paths the attacks use (first calls compile code and grow the heap once), then settle.
    for (let i = 0; i < 5; i++) await rootCall('status');
    await sleep(1000);
    baseline = procSample(pid);
  }, 60_000);

  afterAll(async () => {
    agent?.child.kill('SIGTERM');
    await agent?.exited;
    s?.cleanup();
  });

  it('connection hoarding by 8 uids: each holds at most 64, users at most 480 in all, root still gets in', async () => {
    const { result, seen } = await during(async () => {
      const hoarders = UIDS.map((uid) => new Attacker(uid, 'hoard', s.socket, { count: 80, batch: 16 }));
      const ready = await Promise.all(hoarders.map((a) => a.next('ready', 30_000)));
      // Every slot users may take is taken: root's probes meet the full agent for a while.
      await sleep(2000);
      await Promise.all(hoarders.map((a) => a.stop()));
      return ready;
    });
    const held = result.map((r) => r['held'] as number);
    expect(Math.max(...held)).toBeLessThanOrEqual(PER_UID);
    // Users fill their share exactly, less any slot root's probe held at that instant.
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(FOR_USERS);
    expect(held.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(FOR_USERS - 2);
    for (const r of result) expect(Object.keys(r['refused'] as object)).toEqual(['E_IPC_LIMIT']);
    heldUp(seen, baseline.fds + MAX_CONNECTIONS + 64);
    await backToBaseline();
  }, 60_000);

  it('reconnect churn, malformed and several-MB frames from 4 uids for 8 s: bad peers are cut, nothing accumulates', async () => {
    const { result, seen } = await during(async () => {
      const flooders = FLOODERS.map(
        (uid) => new Attacker(uid, 'flood', s.socket, { ms: 8000, hold: 60, malformed: 2, oversized: 1, churn: 3 }),
      );
      const done = await Promise.all(flooders.map((a) => a.next('done', 30_000)));
      await Promise.all(flooders.map((a) => a.stop()));
      return done;
    });
    for (const r of result) {
      expect(r['held'], JSON.stringify(r)).toBe(60);
      expect(r['malformedClosed'], JSON.stringify(r)).toBeGreaterThan(0);
      expect(r['oversizedClosed'], JSON.stringify(r)).toBeGreaterThan(0);
    }
    expect(result.some((r) => ((r['refused'] as Record<string, number>)['E_IPC_LIMIT'] ?? 0) > 0)).toBe(true);
    heldUp(seen, baseline.fds + FLOODERS.length * PER_UID + 64);
    plateauKb = (await backToBaseline()).rssKb;
  }, 60_000);

  it.concurrent(
    'slowloris: 240 connections from 4 uids, one byte a second and never a hello, cut at the deadline',
    async () => {
      const { result, seen } = await during(async () => {
        const lorises = FLOODERS.map(
          (uid) => new Attacker(uid, 'slowloris', s.socket, { count: 60, byteMs: 1000, maxMs: 25_000 }),
        );
        const done = await Promise.all(lorises.map((a) => a.next('done', 40_000)));
        await Promise.all(lorises.map((a) => a.stop()));
        return done;
      });
      for (const r of result) {
        expect(r['opened'], JSON.stringify(r)).toBe(60);
        expect(r['stillOpen'], JSON.stringify(r)).toBe(0);
        expect(r['minLifeMs'], JSON.stringify(r)).toBeGreaterThanOrEqual(HELLO_DEADLINE_MS - 500);
        expect(r['maxLifeMs'], JSON.stringify(r)).toBeLessThan(HELLO_DEADLINE_MS + 5000);
      }
      heldUp(seen, baseline.fds + FLOODERS.length * 60 + 64);
      // The signer attack runs meanwhile and holds its own connection and gateway socket.
      await backToBaseline(4);
    },
    60_000,
  );

  it.concurrent(
    'a signer that never answers (the console user) releases the user tunnel within the auth deadline',
    async () => {
      const { result, seen } = await during(async () => {
        const started = Date.now();
        const signer = new Attacker(CONSOLE_UID, 'signer', s.socket, {
          url: `https://vpn.lab.test:${gatewayPort}/`,
        });
        try {
          const accepted = await signer.next('connect', 10_000);
          expect(accepted['result']).toBe('accepted');
          const asked = await signer.next('reverse', 10_000);
          expect(asked['request']).toBe('certs.list');
          let st = await rootCall<StatusSnapshot>('status');
          expect(st.user.status.state).toBe('connecting');
          while (st.user.status.state === 'connecting' && Date.now() - started < AUTH_DEADLINE_MS + 20_000) {
            await sleep(250);
            st = await rootCall<StatusSnapshot>('status');
          }
          return { st, heldMs: Date.now() - started };
        } finally {
          await signer.stop();
        }
      });
      const detail = JSON.stringify(result);
      expect(result.st.user.status.state, detail).not.toBe('connecting');
      // The engine's enumerated causes file a timeout under "gateway unreachable" (engine/session/cause.ts).
      expect(result.st.user.status, detail).toMatchObject({
        state: 'error',
        cause: { code: 'E_GATEWAY_UNREACHABLE', message: 'authentication did not finish within 30 s' },
      });
      // Released by the 30 s deadline, not by the reverse request's own 120 s timeout.
      expect(result.heldMs, detail).toBeLessThan(AUTH_DEADLINE_MS + 5000);
      heldUp(seen, baseline.fds + FLOODERS.length * 60 + 64);
      await backToBaseline(4);
    },
    90_000,
  );

  it('diagnostics.collect flood from 4 uids (32 in flight each): a slot per uid, users share three, root still bundles, at most 4 children', async () => {
    const { result, seen } = await during(async () => {
      const askers = FLOODERS.map((uid) => new Attacker(uid, 'diag', s.socket, { ms: 8000, conns: 4, perConn: 8 }));
      await sleep(1500);
      // The administrators' slot: root's bundle completes while the users flood.
      const c = await connectIpc({ socketPath: s.socket, clientVersion: 'hostile-suite', timeoutMs: 20_000 });
      const out = mkdtempSync(join(tmpdir(), 'hostile-bundle-'));
      try {
        const built = await buildBundle({ link: c, toolVersion: 'hostile-suite', dir: out, redact: true });
        expect(built.audience).toBe('admin');
      } finally {
        c.close();
        rmSync(out, { recursive: true, force: true });
      }
      const done = await Promise.all(askers.map((a) => a.next('done', 45_000)));
      await Promise.all(askers.map((a) => a.stop()));
      return done;
    });
    let granted = 0;
    for (const r of result) {
      const answers = r['answers'] as Record<string, number>;
      granted += answers['ok'] ?? 0;
      // Refused by the per-uid or the users' bound, never anything else.
      expect(answers['E_IPC_LIMIT'] ?? 0, JSON.stringify(r)).toBeGreaterThan(0);
      for (const code of Object.keys(answers)) expect(['E_IPC_LIMIT', 'ok'], JSON.stringify(r)).toContain(code);
    }
    expect(granted, JSON.stringify(result)).toBeGreaterThan(0);
    // The collections' commands share MAX_CHILDREN; besides them the agent always runs its one `ip monitor`.
    expect(seen.maxChildren, JSON.stringify(seen)).toBeLessThanOrEqual(MAX_CHILDREN + 1);
    heldUp(seen, baseline.fds + 64 + MAX_CHILDREN * 3);
    await backToBaseline();
  }, 90_000);

  it("after the floods: root's administrative record is in the log ring, and each flood left a summary line", async () => {
    type Tail = { records: Array<{ msg: string; scope: string; fields?: Record<string, string> }> };
    const want = [
      'refused connection: connection limit (repeated)',
      'closed connection: no hello in time (repeated)',
      'too many malformed frames; closing connection (repeated)',
      'oversized frame; closing connection (repeated)',
    ];
    let tail = await rootCall<Tail>('logs.tail', { lines: 5000 });
    // A summary is written when its uid's 10 s window ends.
    for (let i = 0; i < 60 && !want.every((m) => tail.records.some((r) => r.msg === m)); i++) {
      await sleep(250);
      tail = await rootCall<Tail>('logs.tail', { lines: 5000 });
    }
    const saved = tail.records.filter((r) => r.msg === 'machine tunnel setting saved' && r.fields?.['uid'] === '0');
    expect(saved.map((r) => r.fields?.['enabled'])).toEqual(['false', 'true']);
    for (const m of want) {
      const summaries = tail.records.filter((r) => r.msg === m);
      expect(summaries.length, m).toBeGreaterThan(0);
      expect(Number(summaries[0]!.fields?.['count']), m).toBeGreaterThan(0);
    }
    // A flood costs a few records, not one per attempt (15 s of churn once wrote 23 MB).
    expect(agent.stderr().length, 'bytes the agent logged in all').toBeLessThan(1024 * 1024);
  }, 30_000);
});
