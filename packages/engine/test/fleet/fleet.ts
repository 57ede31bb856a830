/**
 * Fleet reconnect simulation (issue 17, "Fleet"): N agents, each a whole real {@link Engine}
 * (supervisor, session state machines, machine-tunnel restart hold, the reconnect and restart
 * policies of `@tandem/common`), lose one gateway at once and come back to it. Only the ports are
 * fake: each agent has its own {@link FakeDriver} (its delays and faults come from the shared
 * {@link FakeGateway}), all run on one {@link FakeClock}.
 *
 * Assumptions, chosen to be the hard case rather than the typical one:
 * - Every agent has a connected tunnel to the same gateway: a machine tunnel on an untrusted
 *   network (share `machineShare`) or a user tunnel whose user's signer (tray) stays connected.
 * - At `diesAt` the gateway process dies. Scenario `reset`: a TCP reset reaches every agent in
 *   the same instant, so every transport dies together (worst case). Scenario `dpd`: the agents
 *   notice through DPD, each at a uniformly random moment within `dpdSpreadSeconds` (30 s).
 * - While down (`downSeconds`), every attempt is refused after 50 ms (GATEWAY_UNREACHABLE).
 * - Back, the gateway knows no cookie from before: a cookie reconnect gets 401 (COOKIE_REJECTED),
 *   the session re-authenticates (`reason: 'reauth'`) and reconnects with the new cookie, i.e.
 *   three TLS handshakes per agent. It completes at most `capacityPerSecond` handshakes in each
 *   second after its return (a fixed window, counted when an attempt arrives; a refused cookie
 *   counts too, its TLS handshake is the cost); an attempt beyond that hangs 5 s and fails with
 *   GATEWAY_TIMEOUT. Admitted handshakes take 200 ms (reconnect, open) or 400 ms (authenticate).
 * - Every `reconnect`, `authenticate` and `open` that reaches the gateway's address is an attempt,
 *   refused ones included. The peak that matters is the one the gateway sees once it is back;
 *   the refused attempts during the outage are reported separately (they cost a SYN and a RST).
 * - An agent is back when its tunnel is `connected` again; it gave up when its session ended on
 *   its own (a user tunnel is then over; a machine tunnel restarts later after its hold).
 */
import type { BackoffPolicy, ReconnectPolicy } from '@tandem/common';
import { Engine, type EngineSnapshot, type TunnelKind } from '@tandem/engine';
import {
  FakeDriver,
  FakeNetwork,
  FakeUsers,
  mgmtProfile,
  seededRandom,
  UNTRUSTED,
  USER_URL,
} from '@tandem/engine/testing';
import { FakeClock } from './fake-clock.js';
import { DEFAULT_GATEWAY, FakeGateway, type SecondCount } from './gateway.js';

/** One simulation's parameters. */
export interface FleetOptions {
  agents: number;
  /** How long the gateway stays down, in seconds. */
  downSeconds: number;
  /** Handshakes per second the gateway completes once back. */
  capacityPerSecond: number;
  /** `reset`: every transport dies at once; `dpd`: each agent notices within `dpdSpreadSeconds`. */
  scenario: 'reset' | 'dpd';
  dpdSpreadSeconds: number;
  /** Fraction of agents whose tunnel is the machine tunnel (the rest: a user tunnel). */
  machineShare: number;
  seed: number;
  /** Simulate at most this long after the gateway's return, in seconds. */
  horizonSeconds: number;
  /** Overrides of the engine's policies (to compare policies; the defaults are common's). */
  reconnect?: Partial<ReconnectPolicy>;
  machineRestart?: Partial<BackoffPolicy>;
}

/** The defaults of `npm run fleet`. */
export const DEFAULT_FLEET: FleetOptions = {
  agents: 10_000,
  downSeconds: 30,
  capacityPerSecond: DEFAULT_GATEWAY.capacityPerSecond,
  scenario: 'reset',
  dpdSpreadSeconds: 30,
  machineShare: 0.5,
  seed: 1,
  horizonSeconds: 300,
};

/** What one simulation measured; times in seconds, attempts per second of simulated time. */
export interface FleetResult {
  options: FleetOptions;
  /** Per second since the gateway died, holes filled with zeros. */
  perSecond: SecondCount[];
  /** Index into `perSecond` of the first second the gateway is back. */
  returnSecond: number;
  /** Most attempts in one second once the gateway is back, and that second (from its return). */
  peak: number;
  peakAt: number;
  /** Most attempts in one second while it was down (refused at the address). */
  peakWhileDown: number;
  /** Attempts per second over the first 60 s after the gateway's return. */
  meanFirst60: number;
  /** peak / meanFirst60; the target is ≤ 3. */
  ratio: number;
  /** When the last agent was connected again, from the gateway's return; null if one never was. */
  allBackAfter: number | null;
  /** Median and 99th percentile of the agents' return, from the gateway's return. */
  backP50: number | null;
  backP99: number | null;
  back: number;
  /** Agents whose session ended on its own (reconnect budget spent, or a failure). Target 0. */
  gaveUp: number;
  /** Handover invariant violations the fake drivers saw (must be 0). */
  violations: number;
  /** Agents per 5 s bucket (from the death) that were connected at the bucket's end. */
  connectedAt: number[];
}

interface Agent {
  kind: TunnelKind;
  engine: Engine;
  driver: FakeDriver;
  connected: boolean;
  wentDown: boolean;
  backAt: number | null;
  gaveUp: boolean;
}

const SETUP_MS = 10_000;

/** Runs one simulation. */
export async function simulateFleet(partial: Partial<FleetOptions> = {}): Promise<FleetResult> {
  const options: FleetOptions = { ...DEFAULT_FLEET, ...partial };
  const clock = new FakeClock(0);
  const diesAt = SETUP_MS;
  const returnsAt = diesAt + Math.round(options.downSeconds * 1000);
  const gateway = new FakeGateway(
    { ...DEFAULT_GATEWAY, diesAt, returnsAt, capacityPerSecond: options.capacityPerSecond },
    clock,
  );
  const rng = seededRandom(options.seed);
  const profile = mgmtProfile();
  const agents: Agent[] = [];
  for (let i = 0; i < options.agents; i++) {
    const kind: TunnelKind = rng() < options.machineShare ? 'machine' : 'user';
    const driver = new FakeDriver({ clock, ...gateway.hooksFor() });
    const users = new FakeUsers();
    users.signers.add(1000);
    const engine = new Engine({
      driver,
      network: new FakeNetwork(UNTRUSTED),
      users,
      clock,
      random: seededRandom(Math.floor(rng() * 2 ** 32)),
      machineProfile: kind === 'machine' ? profile : null,
      ...(options.reconnect ? { reconnect: options.reconnect } : {}),
      ...(options.machineRestart ? { machineRestart: options.machineRestart } : {}),
    });
    const agent: Agent = { kind, engine, driver, connected: false, wentDown: false, backAt: null, gaveUp: false };
    engine.onSnapshot((s) => track(agent, s, clock.now(), diesAt));
    engine.onEvent((e) => {
      if (e.type === 'session-ended' && clock.now() >= diesAt) agent.gaveUp = true;
    });
    agents.push(agent);
  }
  for (const a of agents) {
    await a.engine.start();
    if (a.kind === 'user') await a.engine.connectUser({ uid: 1000, url: USER_URL });
  }
  await clock.runUntil(diesAt - 1);
  const notUp = agents.filter((a) => !a.connected).length;
  if (notUp > 0) throw new Error(`${notUp} agents did not connect before the gateway died`);

  await clock.runUntil(diesAt);
  for (const a of agents) {
    const plane = a.driver.plane(a.kind)!;
    a.driver.rejectedCookies.add(plane.cookie); // the restarted gateway forgot every session
    const noticeIn = options.scenario === 'reset' ? 0 : Math.floor(rng() * options.dpdSpreadSeconds * 1000);
    clock.setTimeout(() => plane.killTransport(options.scenario === 'reset' ? 'TCP reset' : 'DPD timeout'), noticeIn);
  }

  const end = returnsAt + options.horizonSeconds * 1000;
  const connectedAt: number[] = [];
  const allBack = () => agents.every((a) => a.backAt !== null);
  for (let t = diesAt + 5_000; t <= end; t += 5_000) {
    await clock.runUntil(t);
    connectedAt.push(agents.filter((a) => a.connected).length);
    if (t >= returnsAt + 60_000 && allBack()) break;
  }
  return summarize(options, gateway, agents, diesAt, returnsAt, connectedAt);
}

function track(agent: Agent, snapshot: EngineSnapshot, now: number, diesAt: number): void {
  const connected = snapshot.tunnels.some((t) => t.kind === agent.kind && t.state === 'connected');
  if (now >= diesAt && agent.connected && !connected) agent.wentDown = true;
  if (connected && agent.wentDown && agent.backAt === null) agent.backAt = now;
  agent.connected = connected;
}

function summarize(
  options: FleetOptions,
  gateway: FakeGateway,
  agents: Agent[],
  diesAt: number,
  returnsAt: number,
  connectedAt: number[],
): FleetResult {
  const returnSecond = Math.floor((returnsAt - diesAt) / 1000);
  const length = Math.max(gateway.seconds.length, returnSecond + 60);
  const perSecond = Array.from({ length }, (_, i) => gateway.seconds[i] ?? { arrived: 0, refused: 0, overloaded: 0 });
  const after = perSecond.slice(returnSecond).map((s) => s.arrived);
  const peak = Math.max(0, ...after);
  const meanFirst60 = after.slice(0, 60).reduce((a, b) => a + b, 0) / 60;
  const backs = agents
    .map((a) => a.backAt)
    .filter((t): t is number => t !== null)
    .map((t) => (t - returnsAt) / 1000)
    .sort((a, b) => a - b);
  const quantile = (q: number): number | null =>
    backs.length === 0 ? null : backs[Math.min(backs.length - 1, Math.floor(q * backs.length))]!;
  return {
    options,
    perSecond,
    returnSecond,
    peak,
    peakAt: after.indexOf(peak),
    peakWhileDown: Math.max(0, ...perSecond.slice(0, returnSecond).map((s) => s.arrived)),
    meanFirst60,
    ratio: meanFirst60 > 0 ? peak / meanFirst60 : Infinity,
    allBackAfter: backs.length === agents.length ? (backs.at(-1) ?? 0) : null,
    backP50: quantile(0.5),
    backP99: quantile(0.99),
    back: backs.length,
    gaveUp: agents.filter((a) => a.gaveUp).length,
    violations: agents.reduce((n, a) => n + a.driver.violations.length, 0),
    connectedAt,
  };
}
