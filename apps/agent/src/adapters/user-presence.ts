/**
 * Which users have a certificate signer connected right now (engine port UserPresence). A
 * client becomes a user's signer by calling `connect` (the CLI and the tray keep that
 * connection open and answer `certs.list`/`certs.sign` on it); it stops being one when that
 * connection closes. Identity is the kernel's peer credentials only, never anything the
 * client says about itself.
 */
import type { UserPresence } from '@tandem/engine';
import type { CallContext } from '@tandem/ipc/server';

/** The most recent signing-capable connection of each uid. */
export class SignerRegistry implements UserPresence {
  private readonly byUid = new Map<number, CallContext>();

  /** Records `ctx` as the signer of its uid (the newest connection wins); returns the one it replaced. */
  register(ctx: CallContext): CallContext | null {
    const previous = this.byUid.get(ctx.peer.uid) ?? null;
    this.byUid.set(ctx.peer.uid, ctx);
    return previous;
  }

  /** Puts back the signer a refused request replaced (or forgets the uid's signer when null). */
  restore(uid: number, previous: CallContext | null): void {
    if (previous) this.byUid.set(uid, previous);
    else this.byUid.delete(uid);
  }

  /** The live signer connection of `uid`, or null. */
  signerFor(uid: number): CallContext | null {
    const ctx = this.byUid.get(uid);
    if (!ctx) return null;
    // The connection that called `connect`, not any connection of the same pid and uid.
    if (!ctx.isOpen()) {
      this.byUid.delete(uid);
      return null;
    }
    return ctx;
  }

  /** See {@link UserPresence.signerUids}: uids with a live signer, the most recently registered first. */
  signerUids(): number[] {
    return [...this.byUid.keys()].reverse().filter((uid) => this.signerFor(uid) !== null);
  }

  /** See {@link UserPresence.hasSigner}. */
  hasSigner(uid: number): boolean {
    return this.signerFor(uid) !== null;
  }
}
