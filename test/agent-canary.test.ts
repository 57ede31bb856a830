/**
 * The canary test (docs/attack-surface.md#secrets) against an in-process agent on a real socket:
 * a machine-store PKCS#12 passphrase, the machine key it unlocks, and session cookies passed
 * through a test ConnectionRunner (the real data plane is not wired in yet) must never appear
 * in stderr, the log ring, any IPC output (status, stats, watch events, logs.tail) or the
 * diagnostic bundle (issue 14's canary: a PIN, an Authorization header, a password in a profile
 * and in the environment join them) as root or as uid 65534 — while the values demonstrably went through the
 * agent (machine tunnel connected with the unlocked key; user tunnel signed via the user's
 * process).
 */
import {
  appendFileSync,
  chownSync,
  cpSync,
  copyFileSync,
  chmodSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
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
  zipEntries,
  type Scratch,
} from './fixtures/agent/helpers.js';

const PASS = `pass-CANARY-${randomBytes(8).toString('hex')}`;
const COOKIE = `cookie-CANARY-${randomBytes(12).toString('hex')}`;
const USER_COOKIE = `usercookie-CANARY-${randomBytes(12).toString('hex')}`;
const PIN = `pin-CANARY-${randomBytes(6).toString('hex')}`;
const BEARER = `bearer-CANARY-${randomBytes(12).toString('hex')}`;
const PASSWORD = `password-CANARY-${randomBytes(8).toString('hex')}`;
const PROXY_PASSWORD = `proxypw-CANARY-${randomBytes(8).toString('hex')}`;
const CANARIES = [PASS, COOKIE, USER_COOKIE, PIN, BEARER, PASSWORD, PROXY_PASSWORD];

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
      log.info(`token unlocked with pin-value=${PIN}; gateway asked for Authorization: Bearer ${BEARER}`);
      log.warn(`form answer password=${PASSWORD} on machine.lab.test`, { user: 'canary-alice' });
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

const map0 = (path: string): Record<string, Record<string, string>> =>
  (JSON.parse(readFileSync(path, 'utf8')) as { tokens: Record<string, Record<string, string>> }).tokens;

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
    // An administrator's note left in a profile, and a proxy with credentials in the environment.
    appendFileSync(join(s.profiles, 'second.xml'), `<!-- vpn-admin password: ${PASSWORD} -->\n`);
    process.env['https_proxy'] = `http://proxyuser:${PROXY_PASSWORD}@proxy.second.lab.test:3128`;
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
    delete process.env['https_proxy'];
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

  it('no canary in IPC output as root or 65534 (status, stats, hosts, watch, logs.tail)', async () => {
    const calls: Array<[string, unknown]> = [
      ['status', {}],
      ['stats', {}],
      ['hosts', {}],
      ['machineTunnel.status', {}],
      ['logs.tail', { lines: 5000 }],
    ];
    for (const uid of [0, 65534]) {
      const run = await runClient(s.socket, { calls, watch: ['state', 'log'], waitMs: 200 }, uid);
      expect(run.fatal).toBeUndefined();
      for (const c of CANARIES) expect(run.raw, `uid ${uid}`).not.toContain(c);
      expect(run.raw).not.toMatch(/BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----\s*[A-Za-z0-9+/]/);
    }
  });

  it('the diagnostic bundle of root and of 65534: no canary, compressed or not; names only as tokens, consistently', async () => {
    for (const uid of [0, 65534]) {
      const dir = join(s.dir, `bundle-${uid}`);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, uid, uid);
      const run = await runClient(s.socket, { calls: [], bundle: { dir } }, uid);
      expect(run.bundleError, `uid ${uid}`).toBeUndefined();
      const { path, mapPath } = run.bundle!;
      const entries = await zipEntries(path);
      const text = Object.values(entries).join('\n');
      const raw = readFileSync(path);
      // The planted values went into what the collectors read: logs, a profile, the environment.
      if (uid === 0) expect(entries['agent/logs/agent.log'] ?? JSON.stringify(entries)).toContain('[REDACTED]');
      expect(entries['profiles/second.xml']).toContain('vpn-admin password');
      expect(entries['network/proxy.txt']).toContain('https_proxy');
      for (const c of CANARIES) {
        expect(text, `uid ${uid}: ${c}`).not.toContain(c);
        expect(raw.includes(c), `uid ${uid}: ${c} in the archive bytes`).toBe(false);
        expect(readFileSync(mapPath!, 'utf8'), `uid ${uid}: ${c} in the map`).not.toContain(c);
      }
      expect(text).not.toMatch(/BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----\s*[A-Za-z0-9+/]/);
      // Host and user names only as tokens, the same token in every file.
      for (const name of ['second.lab.test', 'machine.lab.test', 'mgmt.lab.test', 'canary-alice'])
        expect(text).not.toContain(name);
      if (uid === 0) expect(map0(mapPath!)['user']).toHaveProperty(['canary-alice']);
      const map = JSON.parse(readFileSync(mapPath!, 'utf8')) as { tokens: Record<string, Record<string, string>> };
      const second = map.tokens['host']?.['second.lab.test'];
      expect(second, JSON.stringify(map.tokens)).toMatch(/^host-[0-9a-f]{8}$/);
      expect(entries['profiles/second.xml']).toContain(second!);
      expect(entries['network/connectivity.txt']).toContain(second!);
    }
  }, 90_000);

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
