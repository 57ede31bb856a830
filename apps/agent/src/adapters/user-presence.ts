/**
 * Which users have a certificate signer connected right now (engine port UserPresence). A
 * client becomes a user's signer by calling `connect` (the CLI and the tray keep that
 * connection open and answer `certs.list`/`certs.sign` on it), or stands by as one with
 * `signer.register` (the tray, from login on); it stops being one when that connection closes.
 * Identity is the kernel's peer credentials only, never anything the client says about itself.
 */
import type { UserPresence } from '@tandem/engine';
import type { CallContext } from '@tandem/ipc/server';

/** The live signing-capable connections of each uid: the one that called `connect` first. */
export class SignerRegistry implements UserPresence {
  private readonly byUid = new Map<number, CallContext>();
  private readonly standby = new Map<number, CallContext>();

  /** Records `ctx` as the signer of its uid (the newest connection wins); returns the one it replaced. */
  register(ctx: CallContext): CallContext | null {
    const previous = this.byUid.get(ctx.peer.uid) ?? null;
    this.byUid.set(ctx.peer.uid, ctx);
    return previous;
  }

  /**
   * Records `ctx` as a standby signer of its uid (`signer.register`): used when no connection
   * of that uid that called `connect` is open, so it never takes a tunnel's signer away.
   */
  offer(ctx: CallContext): void {
    this.standby.delete(ctx.peer.uid);
    this.standby.set(ctx.peer.uid, ctx);
  }

  /** Puts back the signer a refused request replaced (or forgets the uid's signer when null). */
  restore(uid: number, previous: CallContext | null): void {
    if (previous) this.byUid.set(uid, previous);
    else this.byUid.delete(uid);
  }

  /** The live signer connection of `uid`, or null. */
  signerFor(uid: number): CallContext | null {
    return live(this.byUid, uid) ?? live(this.standby, uid);
  }

  /** See {@link UserPresence.signerUids}: uids with a live signer, the most recently registered first. */
  signerUids(): number[] {
    const uids = [...this.byUid.keys(), ...this.standby.keys()].reverse();
    return [...new Set(uids)].filter((uid) => this.signerFor(uid) !== null);
  }

  /** See {@link UserPresence.hasSigner}. */
  hasSigner(uid: number): boolean {
    return this.signerFor(uid) !== null;
  }
}

/** The open connection `map` holds for `uid` (a closed one is forgotten). */
function live(map: Map<number, CallContext>, uid: number): CallContext | null {
  const ctx = map.get(uid);
  if (!ctx) return null;
  // The connection that registered, not any connection of the same pid and uid.
  if (!ctx.isOpen()) {
    map.delete(uid);
    return null;
  }
  return ctx;
}
