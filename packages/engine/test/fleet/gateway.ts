/**
 * The one gateway every simulated agent talks to: up, then down for a while (its process died),
 * then back with an empty session table and a limited handshake rate. It answers through the
 * `delay` and `faults` hooks of each agent's {@link FakeDriver}: the verdict is taken when an
 * attempt arrives (the hook `delay` is asked at the start of an operation) and handed out when
 * the operation ends (`faults` is asked then), and every arrival is counted.
 */
import { ErrorCodes, type ErrorCode } from '@tandem/common';
import type { Clock } from '@tandem/engine';
import type { FakeDriverOptions, Op } from '@tandem/engine/testing';

/** How the gateway behaves, all times in ms of simulated time. */
export interface GatewayModel {
  /** When the process dies. */
  diesAt: number;
  /** When it accepts connections again. */
  returnsAt: number;
  /** Handshakes it completes per second once back (a fixed one-second window). */
  capacityPerSecond: number;
  /** How long a refused connection takes to fail while it is down. */
  refusedMs: number;
  /** How long an attempt beyond capacity hangs before it fails with GATEWAY_TIMEOUT. */
  overloadTimeoutMs: number;
  /** How long an admitted handshake takes, per operation. */
  handshakeMs: Record<'authenticate' | 'open' | 'reconnect', number>;
}

/** The defaults of the simulation (see fleet.ts for why). */
export const DEFAULT_GATEWAY: Omit<GatewayModel, 'diesAt' | 'returnsAt'> = {
  capacityPerSecond: 500,
  refusedMs: 50,
  overloadTimeoutMs: 5_000,
  handshakeMs: { authenticate: 400, open: 200, reconnect: 200 },
};

/** What happened to the attempts that arrived in one second after the gateway died. */
export interface SecondCount {
  /** Every attempt (reconnect, authenticate, open) that reached the gateway's address. */
  arrived: number;
  /** Refused while the gateway was down. */
  refused: number;
  /** Beyond that second's capacity: they time out. */
  overloaded: number;
}

/** The simulated gateway; one instance is shared by every agent. */
export class FakeGateway {
  /** Per second since `diesAt` (index 0 = the first second); seconds without an attempt are holes. */
  readonly seconds: SecondCount[] = [];
  private readonly admitted = new Map<number, number>();

  constructor(
    readonly model: GatewayModel,
    private readonly clock: Clock,
  ) {}

  /** The `delay` and `faults` hooks for one agent's FakeDriver. */
  hooksFor(): Required<Pick<FakeDriverOptions, 'delay' | 'faults'>> {
    // One verdict per operation in flight; a session never runs the same operation twice at once.
    const verdicts = new Map<string, ErrorCode | null>();
    return {
      delay: (kind, op) => {
        if (op === 'close') return 10; // local: routes and DNS are reverted on the host
        const { delayMs, fault } = this.arrive(op, this.clock.now());
        verdicts.set(`${kind}:${op}`, fault);
        return delayMs;
      },
      faults: (kind, op) => {
        const fault = verdicts.get(`${kind}:${op}`) ?? null;
        verdicts.delete(`${kind}:${op}`);
        return fault;
      },
    };
  }

  private arrive(op: Exclude<Op, 'close'>, now: number): { delayMs: number; fault: ErrorCode | null } {
    const m = this.model;
    if (now < m.diesAt) return { delayMs: m.handshakeMs[op], fault: null }; // the fleet's first bring-up
    const second = Math.floor((now - m.diesAt) / 1000);
    const count = (this.seconds[second] ??= { arrived: 0, refused: 0, overloaded: 0 });
    count.arrived += 1;
    if (now < m.returnsAt) {
      count.refused += 1;
      return { delayMs: m.refusedMs, fault: ErrorCodes.GATEWAY_UNREACHABLE };
    }
    const window = Math.floor((now - m.returnsAt) / 1000);
    const done = this.admitted.get(window) ?? 0;
    if (done >= m.capacityPerSecond) {
      count.overloaded += 1;
      return { delayMs: m.overloadTimeoutMs, fault: ErrorCodes.GATEWAY_TIMEOUT };
    }
    this.admitted.set(window, done + 1);
    return { delayMs: m.handshakeMs[op], fault: null };
  }
}
