/**
 * systemd notification: the libc datagram sender against a real AF_UNIX SOCK_DGRAM listener
 * (python3, on a path and on an abstract name, with SO_PASSCRED like PID 1), the address
 * encoding, the once-only failure report, NOTIFY_SOCKET kept from children; and the readiness
 * point on a real Engine with fake ports: READY=1 only once the first machine-tunnel decision is
 * made, also when a network change during the first evaluation supersedes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '@tandem/common';
import { Engine, type TrustedServerProbe } from '@tandem/engine';
import { FakeDriver, FakeNetwork, FakeUsers, mgmtProfile, TRUSTED, UNTRUSTED } from '@tandem/engine/testing';
import { childEnv } from '../src/environment.js';
import {
  createNotifier,
  MAX_STATUS_LENGTH,
  notifyAddress,
  statusText,
  takeNotifySocket,
  type ServiceNotifier,
} from '../src/sd-notify.js';
import { serviceStatus, ServiceReadiness } from '../src/service-readiness.js';
import { listenNotify, type NotifyListener } from '../../../test/fixtures/agent/notify-listener.js';

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const log: Logger & { warnings: string[] } = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (msg) => void warnings.push(msg),
    error: (msg) => void warnings.push(msg),
    child: () => log,
  };
  return log;
}

describe('notifyAddress', () => {
  const family = (a: Uint8Array): number => new DataView(a.buffer).getUint16(0, true);

  it('encodes a path NUL-terminated and an abstract name with a leading NUL and no terminator', () => {
    const p = notifyAddress('/run/systemd/notify')!;
    expect(family(p)).toBe(1);
    expect(p.length).toBe(2 + '/run/systemd/notify'.length + 1);
    expect(Buffer.from(p.subarray(2)).toString('latin1')).toBe('/run/systemd/notify\0');
    const a = notifyAddress('@sd-notify')!;
    expect(a.length).toBe(2 + 1 + 'sd-notify'.length);
    expect(Buffer.from(a.subarray(2)).toString('latin1')).toBe('\0sd-notify');
  });

  it('refuses relative paths, vsock addresses, empty names, NULs and names beyond sun_path', () => {
    for (const bad of ['notify', 'vsock:2:1234', '@', '/a\0b', `/${'x'.repeat(107)}`, `@${'x'.repeat(108)}`])
      expect(notifyAddress(bad), bad).toBeNull();
    expect(notifyAddress(`/${'x'.repeat(106)}`)).not.toBeNull();
    expect(notifyAddress(`@${'x'.repeat(107)}`)).not.toBeNull();
  });
});

describe('statusText', () => {
  it('keeps a status on one line (no injected KEY= lines) and bounded', () => {
    expect(statusText('up\nMAINPID=1\r\nREADY=1')).toBe('up MAINPID=1 READY=1');
    const long = statusText('x'.repeat(1000));
    expect(long.length).toBe(MAX_STATUS_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('NOTIFY_SOCKET never reaches a child', () => {
  it('takeNotifySocket removes it from the environment it reads', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/bin' };
    expect(takeNotifySocket(env)).toBe('/run/systemd/notify');
    expect(env).toEqual({ PATH: '/bin' });
    expect(takeNotifySocket(env)).toBeNull();
    expect(takeNotifySocket({ NOTIFY_SOCKET: '' })).toBeNull();
  });

  it('childEnv() has no NOTIFY_SOCKET even while the agent has one', () => {
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = '@tandem-notify';
    try {
      expect(childEnv()).not.toHaveProperty('NOTIFY_SOCKET');
      expect(Object.keys(childEnv({ TUNDEV: 'tun0' })).sort()).toEqual(['LANG', 'LC_ALL', 'PATH', 'TUNDEV']);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
  });
});

describe('createNotifier over libc, against a real datagram listener', () => {
  let listener: NotifyListener;
  beforeAll(async () => {
    listener = await listenNotify();
  });
  afterAll(() => listener?.close());

  for (const which of ['path', 'abstract'] as const) {
    it(`READY=1 with STATUS, then STATUS changes only, then STOPPING=1 (${which})`, async () => {
      const to = listener[which];
      const log = recordingLogger();
      const n = createNotifier(to, log);
      expect(n.active).toBe(true);
      n.ready(`listening; machine tunnel: connecting\nMAINPID=1 (${which})`);
      const ready = await listener.next((m) => m.to === to && m.data.startsWith('READY=1'));
      expect(ready.data).toBe(`READY=1\nSTATUS=listening; machine tunnel: connecting MAINPID=1 (${which})\n`);
      // The kernel's credentials are the sender's: what NotifyAccess=main compares with MainPID.
      expect(ready.pid).toBe(process.pid);
      expect(ready.uid).toBe(process.getuid!());

      n.status(`listening; machine tunnel: connecting MAINPID=1 (${which})`); // unchanged: not sent
      n.ready('ready again'); // READY=1 is sent once; the status still updates
      n.status(`connected (${which})`);
      n.stopping(`stopping (${which})`);
      await listener.next((m) => m.to === to && m.data.startsWith('STOPPING=1'));
      expect(listener.messages.filter((m) => m.to === to).map((m) => m.data)).toEqual([
        ready.data,
        'STATUS=ready again\n',
        `STATUS=connected (${which})\n`,
        `STOPPING=1\nSTATUS=stopping (${which})\n`,
      ]);
      expect(log.warnings).toEqual([]);
    });
  }

  it('a socket nobody listens on is reported once, then the notifier is quiet, and nothing throws', () => {
    const log = recordingLogger();
    const n = createNotifier(`${listener.path}.absent`, log);
    n.ready('a');
    n.status('b');
    n.stopping('c');
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/notification disabled: the datagram was refused/);
  });

  it('an unusable address is reported once; a send that throws is reported once', () => {
    const log = recordingLogger();
    const n = createNotifier('vsock:2:9', log);
    n.ready('a');
    n.stopping('b');
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/neither an absolute path nor an @abstract name/);
    const log2 = recordingLogger();
    let calls = 0;
    const throwing = createNotifier('/run/x', log2, () => {
      calls += 1;
      throw new Error('libc.so.6: cannot open shared object file');
    });
    expect(() => throwing.ready('a')).not.toThrow();
    throwing.status('b');
    expect(calls).toBe(1);
    expect(log2.warnings).toHaveLength(1);
  });

  it('without NOTIFY_SOCKET nothing is sent', () => {
    let calls = 0;
    const n = createNotifier(null, recordingLogger(), () => (calls += 1));
    n.ready('a');
    n.stopping('b');
    expect(n.active).toBe(false);
    expect(calls).toBe(0);
  });
});

/** A notifier that records what would be sent. */
function recordingNotifier(): ServiceNotifier & { calls: Array<[string, string]> } {
  const calls: Array<[string, string]> = [];
  return {
    calls,
    active: true,
    ready: (s) => void calls.push(['ready', s]),
    status: (s) => void calls.push(['status', s]),
    stopping: (s) => void calls.push(['stopping', s]),
  };
}

/** A TLS probe whose answers the test releases one by one (each refuses: untrusted). */
class GatedProbe implements TrustedServerProbe {
  readonly pending: Array<() => void> = [];
  leafCertificate(): Promise<Uint8Array> {
    return new Promise((_resolve, reject) => this.pending.push(() => reject(new Error('ECONNREFUSED'))));
  }
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('ServiceReadiness on a real engine', () => {
  const SOCKET = '/run/tandem/tandemd.sock';
  const httpsProfile = mgmtProfile({ https: [{ address: '192.0.2.10', port: 443, hash: 'ab'.repeat(32) }] });

  function setup(options: { profile?: ReturnType<typeof mgmtProfile> | null; probe?: TrustedServerProbe } = {}) {
    const network = new FakeNetwork(UNTRUSTED);
    const engine = new Engine({
      driver: new FakeDriver({ delay: () => 1000 }),
      network,
      users: new FakeUsers(),
      ...(options.probe ? { probe: options.probe } : {}),
      machineProfile: options.profile === undefined ? mgmtProfile() : options.profile,
    });
    const notifier = recordingNotifier();
    const readiness = new ServiceReadiness(notifier, SOCKET, engine, engine.snapshot(), 200);
    return { engine, network, notifier, readiness };
  }

  it('READY=1 after start on an untrusted network: the machine tunnel is on its way, with the reason', async () => {
    const { engine, notifier, readiness } = setup();
    await engine.start();
    expect(notifier.calls).toEqual([]);
    readiness.start();
    expect(notifier.calls).toHaveLength(1);
    const [kind, status] = notifier.calls[0]!;
    expect(kind).toBe('ready');
    expect(status).toMatch(
      /^listening on \/run\/tandem\/tandemd\.sock; machine tunnel: (authenticating|connecting) \(untrusted network: /,
    );
    readiness.stop();
    await engine.stop();
  });

  it('without a management profile the decision is "off" with its reason; network changes update STATUS', async () => {
    const { engine, notifier, readiness } = setup({ profile: null });
    await engine.start();
    readiness.start();
    expect(notifier.calls).toEqual([
      ['ready', `listening on ${SOCKET}; machine tunnel: off (no management tunnel profile)`],
    ]);
    await engine.setMachineProfile(mgmtProfile());
    expect(notifier.calls.at(-1)?.[0]).toBe('status');
    expect(notifier.calls.at(-1)?.[1]).toMatch(/machine tunnel: \w+ \(untrusted network/);
    readiness.stop();
    expect(notifier.calls.at(-1)?.[0]).toBe('stopping');
    const count = notifier.calls.length;
    await engine.stop();
    expect(notifier.calls).toHaveLength(count); // nothing after STOPPING=1
  });

  it('a trusted network: READY=1 says the machine tunnel is off because the network is trusted', async () => {
    const { engine, network, notifier, readiness } = setup();
    network.info = TRUSTED;
    await engine.start();
    readiness.start();
    expect(notifier.calls[0]?.[1]).toMatch(/machine tunnel: off \(trusted network: /);
    readiness.stop();
    await engine.stop();
  });

  it('a network change during the first evaluation: READY=1 waits for the evaluation that wins', async () => {
    const probe = new GatedProbe();
    const { engine, network, notifier, readiness } = setup({ profile: httpsProfile, probe });
    const started = engine.start();
    await until(() => probe.pending.length === 1);
    network.change({ dnsDomains: ['other.example'], dnsServers: ['198.51.100.2'] });
    await until(() => probe.pending.length === 2);
    probe.pending[0]!(); // the first evaluation ends, superseded: start() resolves without a decision
    await started;
    readiness.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(notifier.calls).toEqual([]);
    probe.pending[1]!();
    await until(() => notifier.calls.length > 0);
    expect(notifier.calls[0]?.[0]).toBe('ready');
    expect(notifier.calls[0]?.[1]).toMatch(/machine tunnel: \w+ \(untrusted network: no trusted HTTPS server verified/);
    readiness.stop();
    await engine.stop();
  });

  it('a decision that never comes does not hold readiness past the bound: READY=1 says it is pending', async () => {
    const probe = new GatedProbe();
    const { engine, network, notifier, readiness } = setup({ profile: httpsProfile, probe });
    const started = engine.start();
    await until(() => probe.pending.length === 1);
    network.change({ dnsDomains: ['other.example'], dnsServers: ['198.51.100.2'] });
    await until(() => probe.pending.length === 2);
    probe.pending[0]!();
    await started;
    const at = Date.now();
    readiness.start();
    await until(() => notifier.calls.length > 0);
    expect(Date.now() - at).toBeGreaterThanOrEqual(150);
    expect(notifier.calls[0]).toEqual([
      'ready',
      `listening on ${SOCKET}; machine tunnel: off (network trust unknown: not evaluated yet) (network trust still being evaluated)`,
    ]);
    readiness.stop();
    probe.pending[1]!();
    await engine.stop();
  });

  it('serviceStatus names a user tunnel that is not idle', () => {
    const snap = {
      seq: 1,
      at: 0,
      desired: { tunnel: 'user' as const, reason: 'user 1000 asked to connect' },
      tnd: { verdict: 'untrusted' as const, reason: 'x' },
      userTnd: { verdict: 'unknown' as const, reason: 'y' },
      alwaysOn: { blocking: false, reason: '' },
      portal: 'none' as const,
      machineTunnelEnabled: true,
      tunnels: [
        { kind: 'machine' as const, state: 'disconnecting' as const },
        { kind: 'user' as const, state: 'error' as const, cause: 'auth-rejected' as const },
      ].map((t) => ({
        gateway: null,
        since: 0,
        addresses: [],
        bytesIn: 0,
        bytesOut: 0,
        packetsIn: 0,
        packetsOut: 0,
        ...t,
      })),
    };
    expect(serviceStatus(SOCKET, snap)).toBe(
      `listening on ${SOCKET}; machine tunnel: disconnecting; user tunnel: error [auth-rejected]`,
    );
  });
});
