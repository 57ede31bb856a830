/**
 * The canary test (docs/attack-surface.md#secrets) against an in-process agent on a real socket:
 * a machine-store PKCS#12 passphrase, the machine key it unlocks, and session cookies passed
 * through a test ConnectionRunner (the real data plane is not wired in yet) must never appear
 * in stderr, the log ring, or any IPC output (status, stats, watch events, logs.tail,
 * diagnostics.export) as root or as uid 65534 — while the values demonstrably went through the
 * agent (machine tunnel connected with the unlocked key; user tunnel signed via the user's
 * process).
 */
import { cpSync, copyFileSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactor } from '@tandem/common';
import type { DataPlane } from '@tandem/engine';
import { connectIpc, type IpcClient } from '@tandem/ipc/client';
import { Agent } from '../apps/agent/src/agent.js';
import type { ConnectionRunner, RunnerAuthRequest } from '../apps/agent/src/adapters/driver.js';
import { createAgentLogging, type AgentLogging } from '../apps/agent/src/logging.js';
import { parseOptions } from '../apps/agent/src/options.js';
import { isRoot, missing, titled, issue, KU, EKU, tempDir, writeP12 } from '@tandem/testkit';
import {
  agentArgs,
  ensureAgentBuilt,
  ROOT,
  runClient,
  scratch,
  until,
  type Scratch,
} from './fixtures/agent/helpers.js';

const PASS = `pass-CANARY-${randomBytes(8).toString('hex')}`;
const COOKIE = `cookie-CANARY-${randomBytes(12).toString('hex')}`;
const USER_COOKIE = `usercookie-CANARY-${randomBytes(12).toString('hex')}`;
const CANARIES = [PASS, COOKIE, USER_COOKIE];

function plane(): DataPlane {
  return {
    addresses: ['10.99.0.5'],
    stats: () => ({ bytesIn: 4096, bytesOut: 2048 }),
    onDead: () => () => undefined,
    onEnded: () => () => undefined,
    reconnect: async () => undefined,
    close: async () => undefined,
  };
}

/** Stands in for @tandem/connection: real credentials in, canary cookies out. */
class CanaryRunner implements ConnectionRunner {
  readonly requests: RunnerAuthRequest[] = [];
  machineKeyPem = '';
  userSignature = '';
  constructor(private readonly logging: AgentLogging) {}
  async authenticate(request: RunnerAuthRequest) {
    this.requests.push(request);
    const log = this.logging.log.child('canary-runner');
    if (request.kind === 'machine') {
      const creds = request.machineCredentials as { key?: string } | null;
      this.machineKeyPem = creds?.key ?? '';
      // What a careless protocol layer might log: all of it must come out masked.
      log.info(`gateway answered Set-Cookie: webvpn=${COOKIE}; path=/`, { cookie: COOKIE, key: this.machineKeyPem });
      log.debug(`the key pem is ${this.machineKeyPem}`);
      return { gateway: request.url, cookie: COOKIE };
    }
    const user = typeof request.user === 'function' ? await request.user() : request.user!;
    this.userSignature = (await user.signer.sign(Buffer.from('mca challenge'), 'sha256')).toString('base64');
    // The runner contract: register a secret the moment it exists, then log freely.
    redactor.addSecret(USER_COOKIE);
    log.info(`user session ${USER_COOKIE}`);
    return { gateway: request.url, cookie: USER_COOKIE };
  }
  async open() {
    return plane();
  }
}

describe.skipIf(!isRoot)(titled('secrets canary through the agent', missing('root')), () => {
  let s: Scratch;
  let agent: Agent;
  let logging: AgentLogging;
  let runner: CanaryRunner;
  let stderr = '';
  let admin: IpcClient;
  const adminEvents: unknown[] = [];

  beforeAll(async () => {
    ensureAgentBuilt();
    s = scratch({ 'second.xml': 'test/fixtures/agent/second.xml' });
    copyFileSync(
      join(ROOT, 'test/fixtures/agent/mgmt-canary.xml'),
      join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'),
    );
    chmodSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), 0o644);
    const pki = tempDir('agent-canary');
    const ca = await issue({ subject: 'CN=Canary CA', ca: true, keyUsage: KU.keyCertSign });
    const machine = await issue(
      { subject: 'CN=machine.lab.test', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] },
      ca,
    );
    cpSync(writeP12(pki, 'machine', machine, PASS), join(s.machine, 'machine.p12'));
    chmodSync(join(s.machine, 'machine.p12'), 0o600);
    const passFile = join(s.dir, 'machine.pass');
    writeFileSync(passFile, `${PASS}\n`, { mode: 0o600 });
    const resolv = join(s.dir, 'resolv.conf');
    writeFileSync(resolv, 'search untrusted.example\nnameserver 192.0.2.1\n');
    const capture = new PassThrough();
    capture.on('data', (c: Buffer) => (stderr += c.toString()));
    logging = createAgentLogging({ level: 'debug', format: 'json', stream: capture });
    runner = new CanaryRunner(logging);
    const options = parseOptions([...agentArgs(s), '--machine-passphrase-file', passFile, '--log-level', 'debug'], {});
    agent = await Agent.start({
      options,
      logging,
      scrub: { removed: [], nodeOptionsApplied: false },
      runner,
      resolvConf: resolv,
    });
    admin = await connectIpc({ socketPath: s.socket, clientVersion: 'canary' });
    admin.on('state', (d) => adminEvents.push(d));
    admin.on('log', (d) => adminEvents.push(d));
    // The snapshot answering `watch` counts too: under load the tunnel may already be up by then,
    // and no later `state` event would repeat it.
    adminEvents.push(await admin.call('watch', { events: ['state', 'log'] }));
    await until(() => JSON.stringify(adminEvents).includes('"state":"connected"'), 30_000);
  }, 120_000);

  afterAll(async () => {
    admin?.close();
    await agent?.stop();
    s?.cleanup();
  });

  it('the secrets really went through: machine tunnel up with the unlocked key, cookie handed back', async () => {
    expect(runner.machineKeyPem).toContain('PRIVATE KEY');
    expect(runner.requests[0]).toMatchObject({
      kind: 'machine',
      url: 'https://mgmt.lab.test/machine-cert-only',
      strictServerTrust: true,
      prompt: null,
      user: null,
    });
    const status = await admin.call('status', {});
    expect(status.machine.status).toMatchObject({
      state: 'connected',
      gateway: 'https://mgmt.lab.test/machine-cert-only',
      addresses: { ipv4: '10.99.0.5' },
    });
  });

  it('uid 65534 connects the user tunnel with its own signer (certs.list → certs.sign over IPC)', async () => {
    // A real certificate: the agent selects with the certs package, which parses the DER.
    const alice = await issue({ subject: 'CN=alice, O=Lab', keyUsage: KU.digitalSignature, eku: [EKU.clientAuth] });
    const der = Buffer.from(alice.cert.rawData);
    const certificate = {
      sha256: createHash('sha256').update(der).digest('hex'),
      subject: 'CN=alice, O=Lab',
      issuer: 'CN=alice, O=Lab',
      notBefore: alice.cert.notBefore.toISOString(),
      notAfter: alice.cert.notAfter.toISOString(),
      keyType: 'ec',
      eku: [EKU.clientAuth],
      der: der.toString('base64'),
    };
    const run = await runClient(
      s.socket,
      {
        calls: [['connect', { host: 'Second Site' }]],
        watch: ['state'],
        waitMs: 1500,
        signer: { certificates: [certificate], signature: Buffer.from('sig').toString('base64') },
      },
      65534,
    );
    expect(run.results[1]).toMatchObject({ method: 'connect', ok: true });
    expect(run.reverse.map((r) => r.request)).toEqual(['certs.list', 'certs.sign']);
    expect(runner.userSignature).toBe(Buffer.from('sig').toString('base64'));
    const states = run.events.map((e) => (e.data as { user: { ownerUid?: number; status: { state: string } } }).user);
    expect(states.some((u) => u.status.state === 'connected' && u.ownerUid === 65534)).toBe(true);
    for (const c of CANARIES) expect(run.raw).not.toContain(c);
  });

  it('no canary in IPC output as root or 65534 (status, stats, watch, logs.tail, diagnostics.export)', async () => {
    const calls: Array<[string, unknown]> = [
      ['status', {}],
      ['stats', {}],
      ['hosts', {}],
      ['machineTunnel.status', {}],
      ['logs.tail', { lines: 5000 }],
      ['diagnostics.export', {}],
    ];
    for (const uid of [0, 65534]) {
      const run = await runClient(s.socket, { calls, watch: ['state', 'log'], waitMs: 200 }, uid);
      expect(run.fatal).toBeUndefined();
      const bundle = run.results.find((r) => r.method === 'diagnostics.export')!.result as { data: string };
      const decoded = Buffer.from(bundle.data, 'base64').toString('utf8');
      expect(decoded.length).toBeGreaterThan(100);
      if (uid === 0) expect(decoded).toContain('machine.lab.test');
      for (const text of [run.raw, decoded]) {
        for (const c of CANARIES) expect(text, `uid ${uid}`).not.toContain(c);
        expect(text).not.toMatch(/BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----\s*[A-Za-z0-9+/]/);
      }
    }
  });

  it('no canary in stderr or the log ring, where the masked lines did arrive', () => {
    const ring = JSON.stringify(logging.ring.records());
    for (const text of [stderr, ring, JSON.stringify(adminEvents)]) {
      for (const c of CANARIES) expect(text).not.toContain(c);
      expect(text).not.toMatch(/BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----\s*[A-Za-z0-9+/]/);
    }
    // The whole Set-Cookie header is masked, cookie names included.
    expect(ring).toContain('Set-Cookie: [REDACTED]');
    expect(stderr).toContain('"cookie":"[REDACTED]"');
  });
});
