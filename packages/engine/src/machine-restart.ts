/**
 * The machine tunnel's restart hold. A machine tunnel that fails or is ended by the gateway is
 * restarted by the supervisor (nobody else will: it has no user), but after a growing backoff
 * so that a gateway that refuses us is not hammered. A success resets the count.
 */
import { backoffDelay, type BackoffPolicy } from '@tandem/common';
import type { Clock, TimerHandle } from './ports.js';

/** Tracks consecutive machine-tunnel failures and when it may start again. */
export class MachineRestart {
  private failures = 0;
  private retryAt: number | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
    /** Called when the hold expires, so the supervisor reconsiders. */
    private readonly onExpired: () => void,
  ) {}

  /** True while the machine tunnel must not be started. */
  get held(): boolean {
    return this.retryAt !== null && this.clock.now() < this.retryAt;
  }

  /** Records a failure and starts the hold; returns when it ends. */
  schedule(): { retryAt: number; failures: number } {
    const delay = backoffDelay(this.failures, this.policy, this.random);
    this.failures += 1;
    this.cancelTimer();
    const retryAt = this.clock.now() + delay;
    this.retryAt = retryAt;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.retryAt = null;
      this.onExpired();
    }, delay);
    return { retryAt, failures: this.failures };
  }

  /** The machine tunnel connected: forget past failures. */
  succeeded(): void {
    this.failures = 0;
  }

  /** Drops the hold and the count (new network, admin re-enabled, shutdown). */
  reset(): void {
    this.failures = 0;
    this.retryAt = null;
    this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
