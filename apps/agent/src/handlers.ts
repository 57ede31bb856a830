/**
 * IPC handlers: each method of the contract mapped to an engine call or a read of agent state.
 * Permissions are enforced by the IPC layer from the contract before a handler runs; the
 * engine adds ownership (a user may only disconnect its own tunnel). Results go through
 * snapshot-map.ts so no handler builds a tunnel shape of its own.
 */
import { basename } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { MachineTunnelSetBy } from '@tandem/contract';
import type { Engine } from '@tandem/engine';
import type { Handlers } from '@tandem/ipc/server';
import { peerUser } from '@tandem/ipc';
import { resolveConnectTarget } from './connect-target.js';
import type { DiagnosticsService } from './diag/service.js';
import { toWireRecord, type LogRing } from './logging.js';
import type { ProfileStore } from './profiles.js';
import type { SettingsStore } from './settings.js';
import type { SignerRegistry } from './adapters/user-presence.js';
import { wireStats, wireStatus, wireTunnel } from './snapshot-map.js';

/** What the handlers work with. */
export interface HandlerDeps {
  engine: Engine;
  profiles: ProfileStore;
  /** The saved machine tunnel switch (who set it, when). */
  settings: SettingsStore;
  signers: SignerRegistry;
  ring: LogRing;
  diagnostics: DiagnosticsService;
  /** Null when the caller may start the user tunnel, else why not (docs/attack-surface.md). */
  userTunnelRefusal: (caller: { uid: number; admin: boolean; user: string }) => Promise<string | null>;
}

const DEFAULT_TAIL = 200;

/** Builds the handler table for `createIpcServer`. */
export function createHandlers(deps: HandlerDeps): Handlers {
  const { engine, profiles, settings, signers } = deps;
  // Switch first, then save: a disable takes effect even when the disk refuses the write (the
  // caller then gets E_STATE_FILE saying it will not survive a restart).
  const switchMachineTunnel = (enabled: boolean, uid: number): MachineTunnelSetBy => {
    engine.setMachineTunnelEnabled(enabled);
    const { at } = settings.saveMachineTunnel(enabled, uid);
    return { uid, at };
  };
  const setBy = (): { setBy?: MachineTunnelSetBy } => {
    const saved = settings.machineTunnel;
    return saved ? { setBy: { uid: saved.uid, at: saved.at } } : {};
  };
  return {
    async connect(params, ctx) {
      const url = resolveConnectTarget(profiles.set.merged, params);
      const refusal = await deps.userTunnelRefusal({
        uid: ctx.peer.uid,
        admin: ctx.perms.includes('admin'),
        user: peerUser(ctx.peer),
      });
      if (refusal) throw new TandemError(ErrorCodes.PERMISSION, refusal);
      // This connection answers certs.list/certs.sign/prompt for the tunnel it asked for. It
      // is registered before the request because the engine may start authenticating at once;
      // a refused request (busy) must not take the signer away from a tunnel being set up.
      const previous = signers.register(ctx);
      try {
        await engine.connectUser({ uid: ctx.peer.uid, url });
      } catch (err) {
        signers.restore(ctx.peer.uid, previous);
        throw err;
      }
      return { accepted: true, tunnel: wireTunnel(engine.snapshot(), 'user') };
    },
    async disconnect(_params, ctx) {
      await engine.disconnectUser({ uid: ctx.peer.uid, admin: ctx.perms.includes('admin') });
      return { tunnel: wireTunnel(engine.snapshot(), 'user') };
    },
    async status() {
      return wireStatus(engine.snapshot());
    },
    async 'signer.register'(_params, ctx) {
      const refusal = await deps.userTunnelRefusal({
        uid: ctx.peer.uid,
        admin: ctx.perms.includes('admin'),
        user: peerUser(ctx.peer),
      });
      if (refusal) throw new TandemError(ErrorCodes.PERMISSION, refusal);
      signers.offer(ctx);
      engine.signersChanged();
      return { registered: true };
    },
    async stats() {
      return { sections: wireStats(engine.snapshot()) };
    },
    async hosts() {
      const list = profiles.set.merged.hosts.slice(0, 256).map((h) => ({
        name: h.hostName.slice(0, 1024),
        address: h.hostAddress.slice(0, 1024),
        ...(h.userGroup ? { userGroup: h.userGroup.slice(0, 256) } : {}),
        profile: basename(h.profileFile).slice(0, 255),
      }));
      return { hosts: list, ...(list[0] ? { defaultHost: list[0].name } : {}) };
    },
    async 'logs.tail'(params) {
      const records = deps.ring.records();
      return { records: records.slice(-(params.lines ?? DEFAULT_TAIL)).map(toWireRecord) };
    },
    async 'machineTunnel.enable'(_params, ctx) {
      const by = switchMachineTunnel(true, ctx.peer.uid);
      return { enabled: true, tunnel: wireTunnel(engine.snapshot(), 'machine'), setBy: by };
    },
    async 'machineTunnel.disable'(_params, ctx) {
      const by = switchMachineTunnel(false, ctx.peer.uid);
      return { enabled: false, tunnel: wireTunnel(engine.snapshot(), 'machine'), setBy: by };
    },
    async 'machineTunnel.status'() {
      const snap = engine.snapshot();
      return { enabled: snap.machineTunnelEnabled, tunnel: wireTunnel(snap, 'machine'), ...setBy() };
    },
    async 'diagnostics.collect'(params, ctx) {
      return deps.diagnostics.collect(params, ctx);
    },
    async 'diagnostics.read'(params, ctx) {
      return deps.diagnostics.read(params, ctx.peer.uid);
    },
    async 'diagnostics.record'(params, ctx) {
      return deps.diagnostics.record(params.on, ctx.peer.uid);
    },
  };
}
