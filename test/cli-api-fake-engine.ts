/**
 * A small fake engine behind a REAL `createIpcServer` on a temp socket, for the CLI API tests:
 * state transitions with `state` events, a machine tunnel that yields to the user tunnel, and
 * an MCA step that asks the CLI for its certificates and a signature over a fresh nonce, and
 * verifies that signature with the certificate it knows before reporting `connected`.
 * Also the helpers that spawn the built CLI asynchronously (the server runs in this process,
 * so a synchronous spawn would deadlock it).
 */
import { spawn, execFileSync } from 'node:child_process';
import { createPublicKey, randomBytes, verify, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ErrorCause, StatusSnapshot, TunnelSnapshot } from '@tandem/contract';
import { createIpcServer, type CallContext, type Handlers, type IpcServer } from '@tandem/ipc/server';

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const bin = join(repoRoot, 'apps/cli/bin/tandem.js');

/** Builds the CLI when its API commands are not in dist/ yet (a bare `vitest run`). */
export function ensureCliBuilt(): void {
  if (existsSync(join(repoRoot, 'apps/cli/dist/api/connect.js'))) return;
  // --force: a stale tsbuildinfo would otherwise make tsc think a deleted dist/ is current.
  execFileSync('npx', ['tsc', '-b', '--force', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
}

/** A running CLI process. */
export interface CliRun {
  /** Resolves when the process exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** Spawns `node apps/cli/bin/tandem.js …args` without blocking this process's event loop. */
export function runCli(args: string[], opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, TANDEM_SOCKET: '', ...opts.env },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
  return { done, stdout: () => out, stderr: () => err, kill: (s) => void child.kill(s) };
}

/** Waits until `check` is true (polling), failing after `ms`. */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const T0 = '2026-03-01T08:00:00.000Z';
/** When the fake says an administrator last switched the machine tunnel. */
export const SWITCHED_AT = '2026-03-02T09:30:00.000Z';
const now = (): string => new Date().toISOString();
const idle = (tunnel: 'machine' | 'user'): TunnelSnapshot => ({ tunnel, status: { state: 'idle' } });
const machineUp = (): TunnelSnapshot => ({
  tunnel: 'machine',
  status: {
    state: 'connected',
    gateway: 'mgmt.lab.test',
    since: T0,
    addresses: { ipv4: '10.99.0.5', dns: [], searchDomains: [] },
    bytesIn: 4096,
    bytesOut: 2048,
    dtls: false,
  },
});

/** The fake agent: socket, state, and what happened. */
export class FakeAgent {
  readonly socketPath: string;
  snap: StatusSnapshot = { machine: machineUp(), user: idle('user') };
  enabled = true;
  /** Who switched the machine tunnel (absent until someone does, like a fresh agent). */
  setBy: { uid: number; at: string } | undefined;
  /** SHA-256 (hex) → certificate PEM the "gateway" trusts for MCA. */
  readonly known = new Map<string, string>();
  /** Every signature check: which certificate, and whether it verified. */
  readonly verifications: Array<{ sha256: string; ok: boolean }> = [];
  readonly calls: Array<{ method: string; uid: number }> = [];
  private server: IpcServer | null = null;

  private constructor(private readonly dir: string) {
    this.socketPath = join(dir, 'tandemd.sock');
  }

  /** Starts a fake agent on a fresh 0755 temp dir (reachable by an unprivileged child). */
  static async start(): Promise<FakeAgent> {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-cli-api-'));
    await chmod(dir, 0o755);
    const agent = new FakeAgent(dir);
    agent.server = createIpcServer({
      socketPath: agent.socketPath,
      handlers: agent.handlers(),
      agentVersion: 'fake-0.1',
    });
    await agent.server.listen();
    return agent;
  }

  /** Trusts a certificate for MCA. */
  trust(certPem: string): string {
    const sha256 = new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
    this.known.set(sha256, certPem);
    return sha256;
  }

  /** Replaces one tunnel and tells every watcher. */
  set(tunnel: TunnelSnapshot): void {
    this.snap = { ...this.snap, [tunnel.tunnel]: tunnel };
    this.server?.broadcast('state', this.snap);
  }

  async stop(): Promise<void> {
    await this.server?.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private fail(gateway: string, cause: ErrorCause): void {
    this.set({
      tunnel: 'user',
      ownerUid: this.snap.user.ownerUid,
      status: { state: 'error', since: now(), gateway, cause },
    });
    if (this.enabled) this.set(machineUp());
  }

  /** The MCA step: certificates from the caller, a signature over a nonce, verified here. */
  private async authenticate(gateway: string, ctx: CallContext, uid: number): Promise<void> {
    if (gateway === 'banner.lab.test') {
      const answer = await ctx.reverse('prompt', { kind: 'confirm', title: 'Banner', message: 'Authorised use only.' });
      if (answer.cancelled)
        return this.fail(gateway, { code: 'E_AUTH_REJECTED', message: 'banner not accepted', stage: 'auth' });
    }
    if (gateway === 'slow.lab.test') return; // stays `connecting` until someone disconnects
    const { certificates } = await ctx.reverse('certs.list', { purpose: 'mca' });
    const cert = certificates.find((c) => this.known.has(c.sha256));
    if (!cert)
      return this.fail(gateway, {
        code: 'E_CERT_NOT_FOUND',
        message: `no acceptable user certificate among ${certificates.length}`,
        stage: 'mca',
      });
    const nonce = randomBytes(48);
    const { signature } = await ctx.reverse('certs.sign', {
      sha256: cert.sha256,
      algorithm: 'sha384',
      data: nonce.toString('base64'),
    });
    const key = createPublicKey(this.known.get(cert.sha256)!);
    const ok = verify('sha384', nonce, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    this.verifications.push({ sha256: cert.sha256, ok });
    if (!ok)
      return this.fail(gateway, { code: 'E_AUTH_REJECTED', message: 'MCA signature did not verify', stage: 'mca' });
    this.set({
      tunnel: 'user',
      ownerUid: uid,
      status: {
        state: 'connected',
        gateway,
        since: now(),
        addresses: { ipv4: '10.8.0.2', dns: ['10.8.0.1'], searchDomains: ['lab.test'] },
        bytesIn: 1536,
        bytesOut: 512,
        dtls: true,
      },
    });
  }

  private handlers(): Handlers {
    const note = (method: string, ctx: CallContext): void => void this.calls.push({ method, uid: ctx.peer.uid });
    return {
      status: async (_p, ctx) => (note('status', ctx), this.snap),
      hosts: async (_p, ctx) => (
        note('hosts', ctx),
        {
          hosts: [
            { name: 'Lab VPN', address: 'vpn.lab.test', userGroup: 'mca', profile: 'user-mca.xml' },
            { name: 'Lab Banner', address: 'banner.lab.test' },
          ],
          defaultHost: 'Lab VPN',
        }
      ),
      stats: async (_p, ctx) => {
        note('stats', ctx);
        const u = this.snap.user.status;
        const up = u.state === 'connected';
        return {
          sections: [
            {
              title: 'Connection Information',
              entries: [
                { name: 'Connection State', value: up ? 'Connected' : 'Disconnected' },
                { name: 'Tunnel Mode (IPv4)', value: up ? 'Tunnel All Traffic' : '' },
              ],
            },
            {
              title: 'Address Information',
              entries: [
                { name: 'Client Address (IPv4)', value: up ? (u.addresses.ipv4 ?? '') : '' },
                { name: 'Client Address (IPv6)', value: '' },
                { name: 'Server Address', value: up ? u.gateway : '' },
              ],
            },
            {
              title: 'Bytes',
              entries: [
                { name: 'Bytes Sent', value: String(up ? u.bytesOut : 0) },
                { name: 'Bytes Received', value: String(up ? u.bytesIn : 0) },
              ],
            },
            {
              title: 'Frames',
              entries: [
                { name: 'Packets Sent', value: '7' },
                { name: 'Packets Received', value: '9' },
              ],
            },
          ],
        };
      },
      connect: async (p, ctx) => {
        note('connect', ctx);
        const gateway = p.url
          ? new URL(p.url).hostname
          : p.host === 'Lab Banner'
            ? 'banner.lab.test'
            : p.host === 'Slow'
              ? 'slow.lab.test'
              : 'vpn.lab.test';
        // Hand-over: the machine tunnel goes down before the user tunnel comes up.
        this.set(idle('machine'));
        this.set({
          tunnel: 'user',
          ownerUid: ctx.peer.uid,
          status: { state: 'connecting', gateway, since: now(), stage: 'mca' },
        });
        // Accepted now; authentication continues after the reply, as the real engine does.
        setImmediate(
          () =>
            void this.authenticate(gateway, ctx, ctx.peer.uid).catch((err: unknown) => {
              this.fail(gateway, {
                code: err instanceof TandemError ? err.code : ErrorCodes.INTERNAL,
                message: String((err as Error).message),
                stage: 'mca',
              });
            }),
        );
        return { accepted: true, tunnel: this.snap.user };
      },
      disconnect: async (_p, ctx) => {
        note('disconnect', ctx);
        this.set(idle('user'));
        if (this.enabled) this.set(machineUp());
        return { tunnel: this.snap.user };
      },
      'machineTunnel.status': async (_p, ctx) => (
        note('machineTunnel.status', ctx),
        { enabled: this.enabled, tunnel: this.snap.machine, ...(this.setBy ? { setBy: this.setBy } : {}) }
      ),
      'machineTunnel.enable': async (_p, ctx) => {
        note('machineTunnel.enable', ctx);
        this.enabled = true;
        this.setBy = { uid: ctx.peer.uid, at: SWITCHED_AT };
        if (this.snap.user.status.state === 'idle') this.set(machineUp());
        return { enabled: true, tunnel: this.snap.machine, setBy: this.setBy };
      },
      'machineTunnel.disable': async (_p, ctx) => {
        note('machineTunnel.disable', ctx);
        this.enabled = false;
        this.setBy = { uid: ctx.peer.uid, at: SWITCHED_AT };
        this.set(idle('machine'));
        return { enabled: false, tunnel: this.snap.machine, setBy: this.setBy };
      },
      'diagnostics.export': async () => {
        throw new TandemError(ErrorCodes.INTERNAL, 'not part of these tests');
      },
      'logs.tail': async () => ({ records: [] }),
    };
  }
}
