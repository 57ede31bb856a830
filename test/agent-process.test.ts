/**
 * The built `tandemd` as a child process (root): start, hello/status over the real socket,
 * every API method as root and as uid 65534, profile refusals, environment hygiene, no inet
 * listener, a second agent refused, and SIGTERM → exit 0 with the socket removed.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, METHOD_NAMES, type MethodName } from '@tandem/contract';
import { connectIpc } from '@tandem/ipc/client';
import { isRoot, missing, titled } from '@tandem/testkit';
import {
  agentArgs,
  ensureAgentBuilt,
  ROOT,
  runClient,
  scratch,
  startAgent,
  TANDEMD,
  zipEntries,
  type AgentProcess,
  type Scratch,
} from './fixtures/agent/helpers.js';

/** Minimal valid params for every method (hello is done by the client itself). */
const PARAMS: Record<Exclude<MethodName, 'hello'>, unknown> = {
  status: {},
  hosts: {},
  stats: {},
  'machineTunnel.status': {},
  'logs.tail': { lines: 50 },
  'machineTunnel.disable': {},
  'machineTunnel.enable': {},
  'diagnostics.collect': { bundleId: 'DIAG-0000-0000', key: `${'A'.repeat(43)}=`, redact: true },
  'diagnostics.read': { collection: '0'.repeat(32), path: 'summary.txt', offset: 0 },
  'diagnostics.record': { on: false },
  connect: { host: 'Second Site' },
  disconnect: {},
  'signer.register': {},
  watch: { events: ['state', 'log'] },
};
const SECRET_KEYS = /^(cookie|webvpn|passphrase|password|sessiontoken|session-token|token|secret|privatekey|key|pin)$/i;

function secretKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretKeys(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(SECRET_KEYS.test(k) ? [`${path}.${k}`] : []),
      ...secretKeys(v, `${path}.${k}`),
    ]);
  }
  return [];
}

describe.skipIf(!isRoot)(titled('tandemd process', missing('root')), () => {
  let s: Scratch;
  let agent: AgentProcess;

  beforeAll(async () => {
    ensureAgentBuilt();
    s = scratch({ 'a-user.xml': 'profiles/user-mca.xml', 'b-second.xml': 'test/fixtures/agent/second.xml' });
    // Refused: owned by uid 65534, and one that is world-writable.
    copyFileSync(join(ROOT, 'test/fixtures/agent/bad-owner.xml'), join(s.profiles, 'c-nobody.xml'));
    chownSync(join(s.profiles, 'c-nobody.xml'), 65534, 65534);
    copyFileSync(join(ROOT, 'test/fixtures/agent/bad-owner.xml'), join(s.profiles, 'd-world.xml'));
    chmodSync(join(s.profiles, 'd-world.xml'), 0o666);
    agent = await startAgent(s, ['--log-level', 'debug'], {
      NODE_EXTRA_CA_CERTS: '/tmp/x',
      OPENSSL_CONF: '/tmp/y',
      HTTPS_PROXY: 'http://proxy.invalid:3128',
      LD_PRELOAD: '/tmp/none.so',
    });
  }, 120_000);

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    s?.cleanup();
  });

  it('answers hello and status over the socket (root is admin)', async () => {
    const client = await connectIpc({ socketPath: s.socket, clientVersion: 'test' });
    try {
      expect(client.uid).toBe(0);
      expect(client.permissions).toEqual(['read', 'control', 'admin']);
      const status = await client.call('status', {});
      expect(status.machine).toEqual({ tunnel: 'machine', status: { state: 'idle' } });
      expect(status.user.tunnel).toBe('user');
    } finally {
      client.close();
    }
  });

  it('socket is 0666 in a 0755 root-owned directory', () => {
    const sock = spawnSync('stat', ['-c', '%a %u %F', s.socket]).stdout.toString().trim();
    expect(sock).toBe('666 0 socket');
    expect(spawnSync('stat', ['-c', '%a %u', s.state]).stdout.toString().trim()).toBe('755 0');
    expect(
      spawnSync('stat', ['-c', '%a', join(s.state, 'netjournal')])
        .stdout.toString()
        .trim(),
    ).toBe('700');
  });

  it('refuses profiles not owned by root or writable by others, logs why, and serves the merged host list', async () => {
    const err = agent.stderr();
    expect(err).toMatch(
      new RegExp(`profile refused .*c-nobody\\.xml.*not owned by root or is writable by group/others`),
    );
    expect(err).toMatch(/profile refused .*d-world\.xml.*not owned by root or is writable by group\/others/);
    const run = await runClient(s.socket, { calls: [['hosts', {}]] }, 65534);
    const hosts = run.results[0]!.result as {
      hosts: Array<{ name: string; address: string; profile?: string }>;
      defaultHost: string;
    };
    expect(hosts.hosts.map((h) => h.name)).toEqual(['Example VPN (MCA)', 'Second Site']);
    expect(hosts.hosts[1]).toEqual({
      name: 'Second Site',
      address: 'second.lab.test',
      userGroup: 'staff',
      profile: 'b-second.xml',
    });
    expect(hosts.defaultHost).toBe('Example VPN (MCA)');
    expect(JSON.stringify(hosts)).not.toContain('evil.example.test');
  });

  it('ignores dangerous environment variables: logged, and absent from the children it spawns', async () => {
    const ignored =
      /ignored dangerous environment variables.*"variables":"HTTPS_PROXY,LD_PRELOAD,NODE_EXTRA_CA_CERTS,OPENSSL_CONF"/;
    expect(await agent.logged(ignored)).toMatch(ignored);
    const bundleDir = join(s.dir, 'env-bundle');
    mkdirSync(bundleDir);
    const run = await runClient(s.socket, { calls: [], bundle: { dir: bundleDir } });
    expect(run.bundleError).toBeUndefined();
    const files = await zipEntries(run.bundle!.path);
    const config = JSON.parse(files['agent/config/effective.json']!) as Record<string, { value: unknown }>;
    expect(config['agent.removedEnvironment']!.value).toEqual([
      'HTTPS_PROXY',
      'LD_PRELOAD',
      'NODE_EXTRA_CA_CERTS',
      'OPENSSL_CONF',
    ]);
    expect(config['agent.childEnvironment']!.value).toEqual(['LANG', 'LC_ALL', 'PATH']);
  });

  it('every method as root and as uid 65534: admin methods refused to 65534, no secret fields anywhere', async () => {
    const methods = METHOD_NAMES.filter((m): m is Exclude<MethodName, 'hello'> => m !== 'hello');
    const plan = {
      calls: methods.filter((m) => m !== 'watch').map((m) => [m, PARAMS[m]] as [string, unknown]),
      watch: ['state', 'log'],
      waitMs: 300,
    };
    for (const uid of [65534, 0]) {
      const run = await runClient(s.socket, plan, uid);
      expect(run.fatal).toBeUndefined();
      expect(run.hello!.uid).toBe(uid);
      expect(run.results).toHaveLength(methods.length);
      for (const r of run.results) {
        const perm = contract.methods[r.method as MethodName].perm;
        const denied = uid !== 0 && perm === 'admin';
        if (denied) expect(r.error?.code, `${r.method} as ${uid}`).toBe('E_PERMISSION');
        else expect(r.error?.code, `${r.method} as ${uid}: ${r.error?.message}`).not.toBe('E_PERMISSION');
        // No collection of that id exists: a typed refusal, whoever asks.
        if (r.method === 'diagnostics.read') expect(r.error?.code).toBe('E_USAGE');
        else if (!denied && r.method !== 'connect' && r.method !== 'disconnect')
          expect(r.ok, `${r.method} as ${uid}: ${r.error?.message}`).toBe(true);
      }
      expect(secretKeys(run.results)).toEqual([]);
      expect(secretKeys(run.events)).toEqual([]);
      // The log event is admin-only: 65534's watch is not subscribed to it.
      const watch = run.results.find((r) => r.method === 'watch')!.result as { subscribed: string[] };
      expect(watch.subscribed).toEqual(uid === 0 ? ['state', 'log'] : ['state']);
      if (uid !== 0) expect(run.events.some((e) => e.event === 'log')).toBe(false);
    }
    // 65534's refused disable changed nothing.
    const after = await runClient(s.socket, { calls: [['machineTunnel.status', {}]] });
    expect((after.results[0]!.result as { enabled: boolean }).enabled).toBe(true);
  });

  it('a connect to an unreachable gateway ends in error E_GATEWAY_UNREACHABLE (real runner), never connected', async () => {
    const run = await runClient(s.socket, {
      calls: [
        ['disconnect', {}],
        ['connect', { host: 'Second Site' }],
      ],
      watch: ['state'],
      waitMs: 1000,
    });
    expect(run.results[2]).toMatchObject({ method: 'connect', ok: true, result: { accepted: true } });
    const states = run.events.map(
      (e) => (e.data as { user: { status: { state: string; cause?: { code: string; message: string } } } }).user.status,
    );
    expect(states.some((st) => st.state === 'connected')).toBe(false);
    const last = states.at(-1)!;
    expect(last.state).toBe('error');
    expect(last.cause?.code).toBe('E_GATEWAY_UNREACHABLE');
    expect(last.cause?.message).toContain('cannot reach second.lab.test:443');
  });

  it('owns no TCP or UDP socket (inode check of /proc/<pid>/net/* against its fds)', () => {
    const pid = agent.child.pid!;
    const fdInodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(
        (() => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        })(),
      );
      if (m) fdInodes.add(m[1]!);
    }
    expect(fdInodes.size).toBeGreaterThan(0);
    const inet = new Set<string>();
    for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6']) {
      const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
      for (const line of lines) inet.add(line.trim().split(/\s+/)[9]!);
    }
    expect([...fdInodes].filter((i) => inet.has(i))).toEqual([]);
  });

  it('a second agent on the same socket refuses to start and leaves the first one serving', () => {
    const r = spawnSync(process.execPath, [TANDEMD, ...agentArgs(s)], { timeout: 20_000 });
    expect(r.status).toBe(70);
    expect(r.stderr.toString()).toContain('another agent is already serving');
    expect(existsSync(s.socket)).toBe(true);
  });

  it('bad usage exits 64; an unsafe machine passphrase file stops the start with 70 and a reason', () => {
    const usage = spawnSync(process.execPath, [TANDEMD, '--socket', 'relative.sock'], { timeout: 20_000 });
    expect(usage.status).toBe(64);
    expect(usage.stderr.toString()).toContain('--socket must be an absolute path');
    const loose = join(s.dir, 'loose.pass');
    writeFileSync(loose, 'secret-passphrase\n', { mode: 0o644 });
    const other = join(s.dir, 'other-state');
    const r = spawnSync(
      process.execPath,
      [
        TANDEMD,
        ...agentArgs({ ...s, state: other, socket: join(other, 'x.sock') }),
        '--machine-passphrase-file',
        loose,
      ],
      { timeout: 20_000 },
    );
    expect(r.status).toBe(70);
    expect(r.stderr.toString()).toContain('passphrase file must be owned by root with mode 0600');
    expect(r.stderr.toString()).not.toContain('secret-passphrase');
  });

  it('SIGTERM: exits 0 and removes the socket', async () => {
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(existsSync(s.socket)).toBe(false);
    expect(await agent.logged('agent stopped')).toContain('agent stopped');
  });
});
