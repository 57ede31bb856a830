/**
 * DTLS beside CSTP against a real ocserv (udp-port set, PSK-NEGOTIATE), with `tandem connect
 * --foreground` in the client namespace: the channel comes up and ocserv names its cipher for
 * the session, data goes over UDP, DPD is answered over DTLS; when nftables drops UDP in the
 * client namespace the data falls back to CSTP within 10 s without breaking a TCP connection
 * running through the tunnel, and returns to DTLS within 30 s after UDP is allowed again.
 * `--no-dtls` offers none and keeps everything on CSTP.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import { OcservConnectLab } from './fixtures/connection/ocserv-lab.js';
import { uploadSinkClient, uploadSinkServer } from './fixtures/connection/upload-sink.js';
import { occtlSocket } from './fixtures/ocserv.js';

const skip = missing('netns', 'ocserv', 'ping', 'nft', 'python3', 'tc');
const BEHIND = '10.235.71.1';
const ECHO_PORT = 5001;

/** A line-echo server in the server namespace, reachable only through the tunnel. */
const ECHO_SERVER = `
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${BEHIND}", ${ECHO_PORT})); s.listen(4)
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f: f.write(line)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/** One TCP connection through the tunnel: a line every 100 ms, each echoed; exits 1 on any loss. */
const ECHO_CLIENT = `
import socket, sys, time
c = socket.create_connection(("${BEHIND}", ${ECHO_PORT}), timeout=20)
f = c.makefile("rwb", buffering=0)
n = 0
while True:
    msg = b"line %d\\n" % n
    f.write(msg)
    if f.readline() != msg: sys.exit(1)
    n += 1
    print(n, flush=True)
    time.sleep(0.1)
`;

const SINK_PORT = 5002;
const SINK_SERVER = uploadSinkServer(BEHIND, SINK_PORT);
const SINK_CLIENT = uploadSinkClient(BEHIND, SINK_PORT, 8);

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
  expect(cond(), what).toBe(true);
}

describe.skipIf(skip !== null)(titled('tandem connect --foreground ↔ real ocserv over DTLS', skip), () => {
  const env = new OcservConnectLab('tcdt', [235, 41], BEHIND, {
    pool: '10.235.104.0/24',
    device: 'tcdtv',
    routes: [`${BEHIND}/255.255.255.255`],
    dpd: 2,
    keepalive: 30,
    extra: ['udp-port = 443'],
  });
  const lab = env.lab;
  const children: ChildProcess[] = [];
  /** A connect client, killed after the test whatever happened. */
  const connect = (extra: string[] = []) => {
    const c = env.connect('tcdt0', extra);
    children.push(c.child);
    return c;
  };

  const nft = (...args: string[]) => lab.exec(lab.cli, 'nft', args);

  beforeAll(async () => {
    await env.start();
    children.push(lab.spawn(lab.srv, 'python3', ['-c', ECHO_SERVER]));
    // Counting in one chain; the UDP block goes in another, flushed to lift it.
    await nft('add', 'table', 'inet', 'tcdt');
    await nft('add', 'chain', 'inet', 'tcdt', 'out', '{ type filter hook output priority 0; }');
    await nft('add', 'rule', 'inet', 'tcdt', 'out', 'udp', 'dport', '443', 'counter');
    await nft('add', 'chain', 'inet', 'tcdt', 'block_in', '{ type filter hook input priority -10; }');
  }, 60_000);
  afterEach(async () => {
    for (const c of children.splice(1)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab.exec(lab.cli, 'nft', ['delete', 'table', 'inet', 'tcdt']).catch(() => {});
    await env.stop();
  });

  const udpOut = async (): Promise<number> => {
    const out = await nft('list', 'chain', 'inet', 'tcdt', 'out');
    return Number(/udp dport 443 counter packets (\d+)/.exec(out)?.[1] ?? NaN);
  };
  const occtlUsers = (): Promise<string> =>
    lab.exec(lab.srv, 'occtl', ['-s', occtlSocket(env.pki.dir, 'tcdtv'), 'show', 'users']);

  it('comes up beside CSTP, ocserv names its cipher, data goes over UDP, DPD is answered over DTLS', async () => {
    const c = connect();
    await c.waitFor('connected');
    const up = await c.waitFor('dtls-up', 15_000);
    expect(up).toMatchObject({ protocol: 'DTLSv1.2' });
    expect(String(up['cipher'])).toMatch(/^PSK-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    // occtl's dtls-cipher column, e.g. "(AES-256-GCM)", on the session's line.
    expect(await occtlUsers()).toMatch(/machine\.lab\.test .*\((AES-(128|256)-GCM|CHACHA20-POLY1305)\) +connected/);

    const before = await udpOut();
    await lab.exec(lab.cli, 'ping', ['-c20', '-i0.05', '-W2', BEHIND]);
    expect((await udpOut()) - before).toBeGreaterThanOrEqual(20);

    // Idle for 3×DPD: the client probes over DTLS and the answers keep the channel up.
    await new Promise((r) => setTimeout(r, 6500));
    expect(c.names()).not.toContain('dtls-down');
    expect(await c.stop()).toBe(0);
    const end = await c.waitFor('disconnected');
    expect(end['dtls']).toMatchObject({ dpdReplies: expect.any(Number) });
    expect((end['dtls'] as { dpdReplies: number }).dpdReplies).toBeGreaterThan(0);
    expect((end['datapath'] as { toGatewayDtls: number }).toGatewayDtls).toBeGreaterThanOrEqual(20);
    expect(await lab.snapshot()).toBe(env.baseline);
  }, 60_000);

  it('UDP dropped: falls back to CSTP within 10 s, the TCP connection survives, DTLS returns within 30 s', async () => {
    const c = connect();
    await c.waitFor('connected');
    await c.waitFor('dtls-up', 20_000);
    const echo = lab.spawn(lab.cli, 'python3', ['-u', '-c', ECHO_CLIENT]);
    children.push(echo);
    let lines = 0;
    echo.stdout?.on('data', (d: Buffer) => (lines = Number(d.toString().trim().split('\n').at(-1))));
    const echoExit = new Promise<number | null>((r) => echo.once('exit', (code) => r(code)));
    await until(() => lines > 3, 5000, 'the echo connection runs before the block');

    // Only what comes back is dropped: the client's sends succeed and the path just goes
    // silent, as on a real network, so the DTLS DPD has to notice (a local output drop would
    // fail the send at once).
    await nft('add', 'rule', 'inet', 'tcdt', 'block_in', 'udp', 'sport', '443', 'drop');
    const blockedAt = Date.now();
    const seen = c.events.length;
    await c.waitFor('dtls-down', 10_000, seen);
    const fallbackMs = Date.now() - blockedAt;
    // The echo connection carries on over CSTP once TCP retransmits (its timer backed off
    // during the silence, so this can take several seconds).
    const atFallback = lines;
    await until(() => lines > atFallback + 5, 15_000, 'the echo connection carries on over CSTP');

    await nft('flush', 'chain', 'inet', 'tcdt', 'block_in');
    const allowedAt = Date.now();
    const back = await c.waitFor(
      'dtls-up',
      30_000,
      c.events.findIndex((e, i) => i >= seen && e.event === 'dtls-down'),
    );
    const returnMs = Date.now() - allowedAt;
    expect(back).toMatchObject({ protocol: 'DTLSv1.2' });
    const atReturn = lines;
    await until(() => lines > atReturn + 3, 15_000, 'the echo connection carries on over DTLS again');
    expect(echo.exitCode, 'the TCP connection was never broken').toBeNull();
    echo.kill('SIGKILL');
    await echoExit;
    console.log(
      `DTLS fallback to CSTP after ${fallbackMs} ms of dropped UDP; back on DTLS ${returnMs} ms after UDP returned`,
    );
    expect(await c.stop()).toBe(0);
    expect(await lab.snapshot()).toBe(env.baseline);
  }, 90_000);

  it('a full UDP socket: the sealed batch waits and goes out in order, an upload arrives intact', async () => {
    children.push(lab.spawn(lab.srv, 'python3', ['-c', SINK_SERVER]));
    const c = connect();
    await c.waitFor('connected');
    await c.waitFor('dtls-up', 15_000);
    // A slow egress queue that never drops: datagrams wait in it, still charged to the UDP
    // socket's send buffer, which fills, so sendmmsg answers EAGAIN part-way through batches.
    const dev = `${lab.prefix}-vc`;
    await lab.exec(lab.cli, 'tc', [
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      '40mbit',
      'burst',
      '64kb',
      'limit',
      '16mb',
    ]);
    try {
      const out = await lab.exec(lab.cli, 'python3', ['-c', SINK_CLIENT], { timeoutMs: 60_000 });
      const [sent, received] = out.trim().split(' ');
      expect(received, 'the upload arrived byte for byte').toBe(sent);
    } finally {
      await lab.exec(lab.cli, 'tc', ['qdisc', 'del', 'dev', dev, 'root']);
    }
    await lab.exec(lab.cli, 'ping', ['-c3', '-i0.1', '-W2', BEHIND]);
    expect(c.names()).not.toContain('dtls-down');
    expect(await c.stop()).toBe(0);
    const end = await c.waitFor('disconnected');
    const dtls = end['dtls'] as { sendBlocked: number };
    expect(dtls.sendBlocked, 'the socket did fill').toBeGreaterThan(0);
    expect((end['datapath'] as { toGatewayDtls: number }).toGatewayDtls).toBeGreaterThan(5000);
    expect(await lab.snapshot()).toBe(env.baseline);
  }, 90_000);

  it('--no-dtls: nothing offered, nothing over UDP', async () => {
    const c = connect(['--no-dtls']);
    await c.waitFor('connected');
    await lab.exec(lab.cli, 'ping', ['-c3', '-i0.1', '-W2', BEHIND]);
    expect(await c.stop()).toBe(0);
    const end = await c.waitFor('disconnected');
    expect(c.names()).not.toContain('dtls-up');
    expect((end['datapath'] as { toGatewayDtls: number }).toGatewayDtls).toBe(0);
  }, 60_000);
});

describe.skipIf(skip !== null)(titled('tandem connect --foreground ↔ ocserv with legacy DTLS (no PSK)', skip), () => {
  const env = new OcservConnectLab('tcdl', [235, 42], '10.235.72.1', {
    pool: '10.235.105.0/24',
    device: 'tcdlv',
    routes: ['10.235.72.1/255.255.255.255'],
    extra: ['udp-port = 443', 'dtls-psk = false', 'dtls-legacy = true'],
  });
  beforeAll(() => env.start(), 60_000);
  afterAll(() => env.stop());

  it("resumes the session the CONNECT's master secret describes (Cisco's way), and carries data over it", async () => {
    const c = env.connect('tcdl0');
    try {
      await c.waitFor('connected');
      const up = await c.waitFor('dtls-up', 15_000);
      expect(String(up['cipher'])).toMatch(/^AES(128|256)-GCM-SHA(256|384)$/);
      await env.lab.exec(env.lab.cli, 'ping', ['-c5', '-i0.05', '-W2', '10.235.72.1']);
      expect(await c.stop()).toBe(0);
      const end = await c.waitFor('disconnected');
      expect((end['datapath'] as { toGatewayDtls: number }).toGatewayDtls).toBeGreaterThanOrEqual(5);
    } finally {
      c.child.kill('SIGKILL');
    }
  }, 60_000);
});
