/**
 * A scripted tandemd for the tray's tests: the real IPC server (the agent's own, with peer
 * credentials, hello and watch) on a temporary socket, with handlers whose answers the test
 * sets. The test drives state events, restarts the "agent", and sends reverse requests on the
 * connection that called `connect`, as the real agent does during MCA. Its diagnostic bundle
 * side is in scripted-diagnostics.ts.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostEntry, StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import { createIpcServer, type CallContext, type Handlers, type IpcServer } from '@tandem/ipc/server';
import { isRoot } from '@tandem/testkit';
import { scriptedDiagnostics, type ScriptedDiagnostics } from './scripted-diagnostics.js';

export const SINCE = '2026-12-06T10:00:00.000Z';
export const idle = (tunnel: 'machine' | 'user'): TunnelSnapshot => ({ tunnel, status: { state: 'idle' } });
export const HOSTS: HostEntry[] = [
  { name: 'Corp VPN', address: 'vpn.example.test' },
  { name: 'Lab', address: 'lab.example.test' },
];

/** The user tunnel of `uid` in `state`. */
export function userTunnel(
  state: 'connecting' | 'connected' | 'reconnecting',
  uid: number,
  attempt = 1,
): TunnelSnapshot {
  const gateway = 'vpn.example.test';
  if (state === 'connecting') return { tunnel: 'user', ownerUid: uid, status: { state, gateway, since: SINCE } };
  if (state === 'reconnecting')
    return { tunnel: 'user', ownerUid: uid, status: { state, gateway, since: SINCE, attempt } };
  return {
    tunnel: 'user',
    ownerUid: uid,
    status: {
      state,
      gateway,
      since: SINCE,
      addresses: { ipv4: '10.8.0.2', dns: [], searchDomains: [] },
      bytesIn: 10,
      bytesOut: 20,
      dtls: true,
    },
  };
}

/** A failed user tunnel. */
export function failedTunnel(
  uid: number,
  code: 'E_AUTH_REJECTED' | 'E_GATEWAY_UNREACHABLE',
  since = SINCE,
): TunnelSnapshot {
  return {
    tunnel: 'user',
    ownerUid: uid,
    status: { state: 'error', since, gateway: 'vpn.example.test', cause: { code, message: 'the gateway said no' } },
  };
}

/** The scripted agent. */
export interface ScriptedAgent {
  readonly path: string;
  /** Every call the handlers saw, in order. */
  readonly calls: Array<{ method: string; params: unknown }>;
  /** The connection that last called `connect` (reverse requests go there). */
  connectCtx(): CallContext | null;
  /** Sets the status and broadcasts it as a `state` event. */
  setStatus(status: StatusSnapshot): void;
  status(): StatusSnapshot;
  /** `diagnostics.collect` and `diagnostics.read`, steerable. */
  readonly diagnostics: ScriptedDiagnostics;
  /** Closes the server (the agent "crashed"); `start` brings it back on the same path. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes the temporary directory. */
  cleanup(): Promise<void>;
}

/** Whether the client must skip the root-ownership check (a test not run as root owns the socket). */
export const allowNonRootOwner = !isRoot;

/** Starts a scripted agent on a fresh temporary socket. */
export async function startScriptedAgent(hosts: HostEntry[] = HOSTS): Promise<ScriptedAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-tray-'));
  await chmod(dir, 0o755);
  const path = join(dir, 'tandemd.sock');
  const calls: ScriptedAgent['calls'] = [];
  let status: StatusSnapshot = { machine: idle('machine'), user: idle('user') };
  let ctxOfConnect: CallContext | null = null;
  const diagnostics = scriptedDiagnostics();
  const note = (method: string, params: unknown): void => void calls.push({ method, params });
  const handlers: Handlers = {
    status: async () => status,
    hosts: async () => (note('hosts', {}), { hosts, defaultHost: hosts[1]?.name }),
    stats: async () => (
      note('stats', {}),
      { sections: [{ title: 'Bytes', entries: [{ name: 'Bytes Sent', value: String(calls.length) }] }] }
    ),
    connect: async (p, ctx) => {
      note('connect', p);
      ctxOfConnect = ctx;
      return { accepted: true, tunnel: status.user };
    },
    disconnect: async (p) => (note('disconnect', p), { tunnel: status.user }),
    'machineTunnel.status': async () => ({ enabled: true, tunnel: status.machine }),
    'machineTunnel.enable': async () => ({ enabled: true, tunnel: status.machine }),
    'machineTunnel.disable': async () => ({ enabled: false, tunnel: status.machine }),
    'diagnostics.collect': async (p, ctx) => (note('diagnostics.collect', p), diagnostics.collect(p, ctx)),
    'diagnostics.read': (p, ctx) => diagnostics.read(p, ctx),
    'diagnostics.record': async (p) => (note('diagnostics.record', p), { level: p.on ? 'debug' : 'info' }),
    'logs.tail': async () => ({ records: [] }),
    'signer.register': async () => (note('signer.register', {}), { registered: true }),
  };
  let server: IpcServer | null = null;
  const start = async (): Promise<void> => {
    server = createIpcServer({ socketPath: path, handlers, agentVersion: '0.1.0-scripted' });
    await server.listen();
  };
  const stop = async (): Promise<void> => {
    await server?.close();
    server = null;
  };
  await start();
  return {
    path,
    calls,
    diagnostics,
    connectCtx: () => ctxOfConnect,
    status: () => status,
    setStatus(next) {
      status = next;
      server?.broadcast('state', next);
    },
    start,
    stop,
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` holds (a generous bound for a loaded machine; not a timing assertion). */
export async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
