/**
 * TLS key-exchange groups on Node 24 (OpenSSL 3.5): by default the client offers the
 * post-quantum hybrid X25519MLKEM768 first and still reaches a server that knows only a classic
 * group; `--tls-groups` / AuthOptions.tlsGroups offers exactly the listed groups (no ML-KEM
 * share) on every connection, the cookie reconnect included. The ClientHellos are read off the
 * wire by a relay. Then the group negotiated with our lab gateway (loopback) and with a real
 * ocserv (GnuTLS, network namespaces ttg-cli/ttg-srv, 10.237.9.0/24).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeGatewayUrl, openGatewayConnection, reconnectCstp, unsupportedTlsGroups } from '@tandem/anyconnect';
import { startGateway, type RunningGateway } from '../apps/lab-gateway/src/main.js';
import { Events } from '../apps/lab-gateway/src/events.js';
import { parseOptions } from '../apps/lab-gateway/src/options.js';
import { NetnsLab } from './lib/netns.js';
import {
  standardLab,
  writePem,
  type Lab,
  missing,
  titled,
  completeScript,
  httpResponse,
  startFakeGateway,
  type FakeGateway,
  writeCertAndKey,
} from '@tandem/testkit';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { Group, recordClientHellos, type HelloRecorder } from './fixtures/anyconnect/client-hello.js';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'apps/cli/bin/tandem.js');
const HOST = 'vpn.lab.test';

describe('offered TLS groups (a gateway that knows only P-256)', () => {
  let lab: Lab;
  let files: { cert: string; key: string };
  let gw: FakeGateway;
  let relay: HelloRecorder;

  beforeAll(async () => {
    buildCli();
    lab = await standardLab('tac-groups');
    files = writePem(lab.dir, 'machine', lab.machine);
    gw = await startFakeGateway(lab.server.certPem + lab.intermediate.certPem, lab.server.keyPem, completeScript(), {
      ecdhCurve: 'P-256',
    });
    relay = await recordClientHellos(gw.port);
  }, 60_000);
  afterAll(async () => {
    await relay?.close();
    await gw?.close();
  });

  async function tandemAuth(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = [
      'auth',
      `https://${HOST}:${relay.port}/`,
      '--resolve',
      `${HOST}:127.0.0.1`,
      '--cafile',
      lab.caFile,
      '--machine-cert',
      files.cert,
      '--machine-key',
      files.key,
      '--json',
      ...extra,
    ];
    try {
      return { code: 0, ...(await run(process.execPath, [CLI, ...args], { timeout: 30_000 })) };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('by default offers X25519MLKEM768 first (with an X25519 share) and still connects', async () => {
    const before = relay.connections().length;
    const r = await tandemAuth([]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ authenticated: true });
    const [first, retry] = relay.connections()[before] ?? [];
    expect(first?.groups[0]).toBe(Group.X25519MLKEM768);
    expect(first?.keyShares).toEqual([Group.X25519MLKEM768, Group.X25519]);
    // The server knows neither share: it asks again, for P-256.
    expect(retry?.keyShares).toEqual([Group.P256]);
  });

  it('--tls-groups X25519:P-256 offers exactly those groups, no ML-KEM share, and connects', async () => {
    const before = relay.connections().length;
    const r = await tandemAuth(['--tls-groups', 'X25519:P-256']);
    expect(r.code, r.stderr).toBe(0);
    const hellos = relay.connections().slice(before).flat();
    expect(hellos.length).toBeGreaterThan(0);
    for (const h of hellos) {
      expect(h.groups).toEqual([Group.X25519, Group.P256]);
      expect(h.keyShares).not.toContain(Group.X25519MLKEM768);
    }
    expect(hellos[0]?.keyShares).toEqual([Group.X25519]);
  });

  it('negotiates the one group offered, P-256', async () => {
    const conn = await openGatewayConnection(
      { host: HOST, port: relay.port, address: '127.0.0.1', ca: lab.caBundle, trust: {}, tlsGroups: ['P-256'] },
      null,
    );
    try {
      expect(conn.socket.negotiatedGroup()).toBe('secp256r1');
      expect(relay.connections().at(-1)).toEqual([{ groups: [Group.P256], keyShares: [Group.P256] }]);
    } finally {
      conn.socket.destroy();
    }
  });

  it('the cookie reconnect offers the same groups as the auth phase', async () => {
    const refusing = await startFakeGateway(
      lab.server.certPem + lab.intermediate.certPem,
      lab.server.keyPem,
      (_req, socket) => {
        socket.end(httpResponse('401 Unauthorized', ['Connection: close']));
      },
    );
    const tap = await recordClientHellos(refusing.port);
    try {
      const gateway = describeGatewayUrl(`https://${HOST}:${tap.port}/`);
      const result = await reconnectCstp(
        {
          gateway,
          cookie: 'Zm9vYmFyCg==',
          address: '127.0.0.1',
          ca: lab.caBundle,
          trust: {},
          machine: null,
          tlsGroups: ['P-384', 'P-256'],
          timeoutMs: 10_000,
        },
        {},
      );
      expect(result.kind).toBe('reauthenticate');
      const hellos = tap.connections().flat();
      expect(hellos[0]).toEqual({ groups: [Group.P384, Group.P256], keyShares: [Group.P384] });
      // (This server prefers P-256 and asks for it in a HelloRetryRequest.)
      for (const h of hellos) expect(h.groups).toEqual([Group.P384, Group.P256]);
    } finally {
      await tap.close();
      await refusing.close();
    }
  });

  it('refuses a group OpenSSL does not know, before connecting (exit 2)', async () => {
    expect(unsupportedTlsGroups(['X25519', 'P-256', 'X25519MLKEM768'])).toEqual([]);
    expect(unsupportedTlsGroups(['X25519', 'nope', 'P-256:X448', ''])).toEqual(['nope', 'P-256:X448', '']);
    const before = relay.connections().length;
    const r = await tandemAuth(['--tls-groups', 'X25519,nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tls-groups: unknown TLS group "nope"');
    expect(relay.connections().length).toBe(before);
  });
});

describe('the group negotiated with our lab gateway (Node 24 on both ends, loopback)', () => {
  let lab: Lab;
  let gw: RunningGateway;

  beforeAll(async () => {
    lab = await standardLab('tac-groups-lab');
    const server = writeCertAndKey(lab.dir, 'server', lab.server, lab.server, [lab.intermediate]);
    const o = parseOptions(['--listen', '127.0.0.1:0', '--cert', server.cert, '--key', server.key, '--ca', lab.caFile]);
    gw = await startGateway(o!, new Events(() => {}));
  }, 60_000);
  afterAll(async () => gw?.close());

  async function negotiated(tlsGroups?: string[]): Promise<unknown> {
    const conn = await openGatewayConnection(
      {
        host: HOST,
        port: gw.port,
        address: '127.0.0.1',
        ca: lab.caBundle,
        trust: {},
        ...(tlsGroups ? { tlsGroups } : {}),
      },
      { cert: lab.machine.certPem, key: lab.machine.keyPem },
    );
    const info = { protocol: conn.socket.getProtocol(), group: conn.socket.negotiatedGroup() };
    conn.socket.destroy();
    return info;
  }

  it('is X25519MLKEM768 by default, X25519 when only classic groups are offered', async () => {
    expect(await negotiated()).toEqual({ protocol: 'TLSv1.3', group: 'X25519MLKEM768' });
    expect(await negotiated(['X25519', 'P-256'])).toEqual({ protocol: 'TLSv1.3', group: 'x25519' });
  });
});

const skipOcserv = missing('netns', 'ocserv');
describe.skipIf(skipOcserv !== null)(titled('the group negotiated with a real ocserv (GnuTLS)', skipOcserv), () => {
  const ns = new NetnsLab('ttg', [237, 9]);
  let lab: Lab;
  let oc: Ocserv;
  let files: { cert: string; key: string };

  beforeAll(async () => {
    buildCli();
    await ns.create();
    lab = await standardLab('tac-groups-oc');
    files = writePem(lab.dir, 'machine', lab.machine);
    oc = await startOcserv(ns, lab, { pool: '10.237.100.0/24', device: 'ttgv' });
  }, 60_000);
  afterAll(async () => {
    await oc?.stop();
    await ns.destroy();
  });

  /** Our client's TLS connection from the client namespace: what was negotiated. */
  async function negotiated(tlsGroups?: string[]): Promise<Record<string, unknown>> {
    const code = `
      const { openGatewayConnection } = await import(${JSON.stringify(join(ROOT, 'packages/anyconnect/dist/index.js'))});
      const { readFileSync } = await import('node:fs');
      const [ca, cert, key, groups] = process.argv.slice(1);
      const conn = await openGatewayConnection({ host: 'vpn.lab.test', port: 443, address: ${JSON.stringify(ns.srvAddr)}, ca: readFileSync(ca), trust: {}, ...(groups ? { tlsGroups: groups.split(':') } : {}) }, { cert: readFileSync(cert), key: readFileSync(key) });
      console.log(JSON.stringify({ protocol: conn.socket.getProtocol(), group: conn.socket.negotiatedGroup() }));
      conn.socket.destroy();`;
    const out = await ns.exec(ns.cli, process.execPath, [
      '--input-type=module',
      '-e',
      code,
      lab.caFile,
      files.cert,
      files.key,
      tlsGroups?.join(':') ?? '',
    ]);
    return JSON.parse(out) as Record<string, unknown>;
  }

  it("is GnuTLS's first choice, P-256, by default (no ML-KEM there); --tls-groups X25519 gets X25519; tandem auth connects with both", async () => {
    expect(await negotiated()).toEqual({ protocol: 'TLSv1.3', group: 'secp256r1' });
    expect(await negotiated(['X25519'])).toEqual({ protocol: 'TLSv1.3', group: 'x25519' });
    for (const extra of [[], ['--tls-groups', 'X25519']]) {
      const out = await ns.exec(ns.cli, process.execPath, [
        CLI,
        'auth',
        'https://vpn.lab.test/',
        '--resolve',
        `vpn.lab.test:${ns.srvAddr}`,
        '--cafile',
        lab.caFile,
        '--machine-cert',
        files.cert,
        '--machine-key',
        files.key,
        '--json',
        ...extra,
      ]);
      expect(JSON.parse(out)).toMatchObject({ authenticated: true });
    }
  });
});
