/**
 * The routes/DNS ownership token. Exactly one tunnel may have routes and DNS applied at any
 * instant; a session takes the token before `open()` and gives it
 * back once `close()` (or a failed `open()`) has settled. A second taker is a bug in the
 * supervisor, so it throws instead of waiting.
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { TunnelKind } from './ports.js';

/** Holder of the single routes/DNS token. */
export class NetworkOwnership {
  private holderKind: TunnelKind | null = null;
  private readonly listeners = new Set<(holder: TunnelKind | null) => void>();

  /** The tunnel that owns routes/DNS now, if any. */
  get holder(): TunnelKind | null {
    return this.holderKind;
  }

  /** Takes the token for `kind`; throws E_INTERNAL if anyone holds it. */
  acquire(kind: TunnelKind): void {
    if (this.holderKind !== null) {
      throw new TandemError(
        ErrorCodes.INTERNAL,
        `invariant violated: the ${kind} tunnel asked for routes/DNS while the ${this.holderKind} tunnel holds them`,
      );
    }
    this.holderKind = kind;
    this.notify();
  }

  /** Gives the token back; throws E_INTERNAL if `kind` does not hold it. */
  release(kind: TunnelKind): void {
    if (this.holderKind !== kind) {
      throw new TandemError(
        ErrorCodes.INTERNAL,
        `invariant violated: the ${kind} tunnel released routes/DNS held by ${this.holderKind ?? 'nobody'}`,
      );
    }
    this.holderKind = null;
    this.notify();
  }

  /** Observes every change of holder (tests assert on it). Returns an unsubscribe. */
  onChange(listener: (holder: TunnelKind | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l(this.holderKind);
  }
}
