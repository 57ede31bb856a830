/**
 * Model-based property test of the engine: random
 * sequences of user connect/disconnect, network trusted/untrusted, DPD death, 401, gateway
 * DISCONNECT, machine enable/disable, signer presence and delays, over fake drivers that
 * answer after random delays and fail at random points. Invariants are checked at every
 * snapshot and by the fake driver at every call; once the faults stop and time passes, the
 * engine must sit exactly where `desiredTunnel(inputs)` says.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { ErrorCodes, isTandemError, type ErrorCode } from '@tandem/common';
import { desiredTunnel, Engine, type EngineEvent, type EngineSnapshot } from '../src/index.js';
import {
  FakeDriver,
  FakeNetwork,
  FakeUsers,
  mgmtProfile,
  seededRandom,
  TRUSTED,
  UNTRUSTED,
  USER_URL,
} from '@tandem/engine/testing';

type Action =
  | { t: 'connect'; uid: number }
  | { t: 'disconnect'; uid: number; admin: boolean }
  | { t: 'network'; trusted: boolean }
  | { t: 'dpd'; kind: 'machine' | 'user' }
  | { t: 'cookie401'; kind: 'machine' | 'user' }
  | { t: 'serverDisconnect'; kind: 'machine' | 'user' }
  | { t: 'machineEnabled'; enabled: boolean }
  | { t: 'signer'; uid: number; present: boolean }
  | { t: 'wait'; ms: number };

const UIDS = [1000, 1001];
const kindArb = fc.constantFrom('machine' as const, 'user' as const);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('connect' as const), uid: fc.constantFrom(...UIDS) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('disconnect' as const), uid: fc.constantFrom(...UIDS), admin: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('network' as const), trusted: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('dpd' as const), kind: kindArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cookie401' as const), kind: kindArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('serverDisconnect' as const), kind: kindArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('machineEnabled' as const), enabled: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('signer' as const), uid: fc.constantFrom(...UIDS), present: fc.boolean() }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 100, max: 1_000 }),
        fc.integer({ min: 0, max: 5_000 }),
      ),
    }),
  },
);

const FAULT_CODES: ErrorCode[] = [
  ErrorCodes.GATEWAY_UNREACHABLE,
  ErrorCodes.AUTH_REJECTED,
  ErrorCodes.TUN,
  ErrorCodes.NETCONFIG,
  ErrorCodes.CERT_NOT_FOUND,
  ErrorCodes.PROTOCOL,
  ErrorCodes.SERVER_CERT_UNTRUSTED,
];

const ACTIVE = new Set(['authenticating', 'connecting', 'connected', 'reconnecting', 'disconnecting']);
const HOLDING = new Set(['connecting', 'connected', 'reconnecting', 'disconnecting']);
let runs = 0;
let sequencesWithHandover = 0;
let maxGap = 0;
/** Coverage of the runs: how many sequences reached each situation (printed at the end). */
const seen = {
  userUp: 0,
  machineUp: 0,
  reconnected: 0,
  reauth: 0,
  errorState: 0,
  busy: 0,
  permissionDenied: 0,
  finalUser: 0,
  finalMachine: 0,
  finalNone: 0,
};

/** Checks the instant-wise invariants on one snapshot; returns the first violation. */
function checkSnapshot(s: EngineSnapshot, holder: string | null): string | null {
  const active = s.tunnels.filter((t) => ACTIVE.has(t.state));
  if (active.length > 1) return `two sessions active at once: ${active.map((t) => `${t.kind}:${t.state}`).join(', ')}`;
  if (holder !== null) {
    const t = s.tunnels.find((x) => x.kind === holder);
    if (!t || !HOLDING.has(t.state)) return `${holder} holds routes/DNS while ${t?.state}`;
  }
  for (const t of s.tunnels) {
    if (HOLDING.has(t.state) && holder !== t.kind) return `${t.kind} is ${t.state} without holding routes/DNS`;
  }
  if (s.tunnels.find((t) => t.kind === 'machine')?.ownerUid !== undefined) return 'machine tunnel has an owner uid';
  if (JSON.stringify(s).includes('SECRET-')) return 'snapshot leaks a session cookie';
  return null;
}

async function runSequence(seed: number, faultRate: number, actions: Action[]): Promise<void> {
  vi.useFakeTimers();
  vi.setSystemTime(0);
  const rng = seededRandom(seed);
  let faultsOn = true;
  const driver = new FakeDriver({
    delay: () => Math.floor(rng() * 200),
    faults: () => (faultsOn && rng() < faultRate ? FAULT_CODES[Math.floor(rng() * FAULT_CODES.length)]! : null),
  });
  const network = new FakeNetwork(rng() < 0.5 ? TRUSTED : UNTRUSTED);
  const users = new FakeUsers();
  UIDS.forEach((u) => users.signers.add(u));
  const engine = new Engine({ driver, network, users, machineProfile: mgmtProfile(), random: rng });
  const violations: string[] = [];
  const events: EngineEvent[] = [];
  const stats = { busy: false, permissionDenied: false, error: false };
  let lastSeq = 0;
  engine.onSnapshot((s) => {
    if (s.seq <= lastSeq) violations.push(`seq went from ${lastSeq} to ${s.seq}`);
    lastSeq = s.seq;
    if (s.tunnels.some((t) => t.state === 'error')) stats.error = true;
    const v = checkSnapshot(s, engine.networkHolder);
    if (v) violations.push(v);
  });
  engine.onEvent((e) => events.push(e));

  // The model: what the engine's inputs must be, as far as the caller can know them.
  const model = { trusted: network.info === TRUSTED, enabled: true, intent: null as number | null, intentEventsAt: 0 };
  try {
    await engine.start();
    for (const a of actions) {
      switch (a.t) {
        case 'connect':
          try {
            await engine.connectUser({ uid: a.uid, url: USER_URL });
            if (model.intent === null) model.intentEventsAt = events.length;
            model.intent = a.uid;
          } catch (err) {
            if (!isTandemError(err, ErrorCodes.BUSY)) throw err;
            stats.busy = true;
            // Busy is only allowed when a user tunnel is queued, active or still stopping.
            const user = engine.snapshot().tunnels.find((t) => t.kind === 'user')!;
            if (engine.inputs().userIntent === null && !ACTIVE.has(user.state))
              violations.push('E_BUSY with no user tunnel in transition');
          }
          break;
        case 'disconnect': {
          const owner = engine.inputs().userIntent?.uid;
          try {
            void engine.disconnectUser({ uid: a.uid, admin: a.admin }).catch((e: unknown) => {
              if (!isTandemError(e, ErrorCodes.PERMISSION)) violations.push(`disconnect failed: ${String(e)}`);
              stats.permissionDenied = true;
            });
            await Promise.resolve();
          } catch (err) {
            violations.push(`disconnect threw synchronously: ${String(err)}`);
          }
          if (owner !== undefined && (owner === a.uid || a.admin)) model.intent = null;
          if (
            owner !== undefined &&
            owner !== a.uid &&
            !a.admin &&
            engine.inputs().userIntent === null &&
            model.intent !== null
          ) {
            // Only a failure of the tunnel itself may clear someone else's intent, never this call.
            const ended = events
              .slice(model.intentEventsAt)
              .some((e) => e.type === 'session-ended' && e.kind === 'user');
            if (!ended) violations.push(`uid ${a.uid} disconnected uid ${owner}'s tunnel without permission`);
          }
          break;
        }
        case 'network':
          model.trusted = a.trusted;
          network.change(a.trusted ? TRUSTED : UNTRUSTED);
          break;
        case 'dpd':
          driver.plane(a.kind)?.killTransport();
          break;
        case 'cookie401': {
          const plane = driver.plane(a.kind);
          if (plane) {
            driver.rejectedCookies.add(plane.cookie);
            plane.killTransport('TLS reset');
          }
          break;
        }
        case 'serverDisconnect':
          driver.plane(a.kind)?.serverDisconnect();
          break;
        case 'machineEnabled':
          model.enabled = a.enabled;
          engine.setMachineTunnelEnabled(a.enabled);
          break;
        case 'signer':
          if (a.present) users.signers.add(a.uid);
          else users.signers.delete(a.uid);
          break;
        case 'wait':
          await vi.advanceTimersByTimeAsync(a.ms);
          break;
      }
    }

    // Let things settle: no more faults, then well past the reconnect budget and restart holds.
    faultsOn = false;
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(60_000);

    const inputs = engine.inputs();
    expect(inputs.machine.enabled).toBe(model.enabled);
    expect(inputs.tnd.verdict).toBe(model.trusted ? 'trusted' : 'untrusted');
    if (model.intent === null) expect(inputs.userIntent).toBeNull();
    else if (inputs.userIntent === null) {
      // The engine may drop an intent only because the user tunnel ended on its own.
      const ended = events.slice(model.intentEventsAt).some((e) => e.type === 'session-ended' && e.kind === 'user');
      expect(ended, 'user intent vanished without the user tunnel ending').toBe(true);
    } else expect(inputs.userIntent.uid).toBe(model.intent);

    const desired = desiredTunnel(inputs);
    const snap = engine.snapshot();
    const state = (k: 'machine' | 'user') => snap.tunnels.find((t) => t.kind === k)!.state;
    if (desired === 'none') {
      expect([state('machine'), state('user')].every((s) => s === 'idle' || s === 'error')).toBe(true);
      expect(engine.networkHolder).toBeNull();
      expect(driver.applied.size).toBe(0);
    } else {
      const other = desired === 'machine' ? 'user' : 'machine';
      expect(state(desired)).toBe('connected');
      expect(['idle', 'error']).toContain(state(other));
      expect(engine.networkHolder).toBe(desired);
      expect([...driver.applied]).toEqual([desired]);
    }

    const ok = (k: 'machine' | 'user', op: 'open' | 'reconnect' | 'authenticate') =>
      driver.log.filter((c) => c.kind === k && c.op === op && c.phase === 'end' && c.ok).length;
    if (ok('user', 'open') > 0) seen.userUp += 1;
    if (ok('machine', 'open') > 0) seen.machineUp += 1;
    if (ok('machine', 'reconnect') + ok('user', 'reconnect') > 0) seen.reconnected += 1;
    if (
      driver.log.some((c) => c.op === 'reconnect' && c.phase === 'end' && !c.ok) &&
      ok('user', 'authenticate') + ok('machine', 'authenticate') > ok('user', 'open') + ok('machine', 'open')
    )
      seen.reauth += 1;
    if (stats.error) seen.errorState += 1;
    if (stats.busy) seen.busy += 1;
    if (stats.permissionDenied) seen.permissionDenied += 1;
    seen[desired === 'user' ? 'finalUser' : desired === 'machine' ? 'finalMachine' : 'finalNone'] += 1;
    const gaps = events.filter((e) => e.type === 'handover');
    if (gaps.length > 0) sequencesWithHandover += 1;
    for (const g of gaps) maxGap = Math.max(maxGap, g.gapMs);

    const stopped = engine.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    await stopped;
    expect(driver.applied.size).toBe(0);
    expect(engine.networkHolder).toBeNull();
    expect(driver.violations).toEqual([]);
    expect(violations).toEqual([]);
  } finally {
    vi.useRealTimers();
  }
  runs += 1;
}

describe('engine model (random sequences)', () => {
  it('keeps the handover invariants and converges to desiredTunnel() over ≥ 500 random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(0, 0.05, 0.15, 0.3),
        fc.array(actionArb, { minLength: 1, maxLength: 40 }),
        async (seed, faultRate, actions) => runSequence(seed, faultRate, actions),
      ),
      { numRuns: 500 },
    );
    expect(runs).toBeGreaterThanOrEqual(500);
  }, 600_000);

  afterAll(() => {
    console.info(
      `engine model: ${runs} sequences, ${sequencesWithHandover} with a completed handover, largest gap ${maxGap} ms of fake time; coverage ${JSON.stringify(seen)}`,
    );
  });
});
