/**
 * DTLS on the lab gateway: the spawned `tandem-lab-gateway` process answers a CONNECT that offers
 * PSK-NEGOTIATE with the X-DTLS headers, and our DtlsClient, keyed from the CONNECT's own TLS
 * connection, completes the handshake on the gateway's UDP port (MCA session, echo data plane):
 * DPD is answered over DTLS, DATA flows over DTLS, a DATA frame on CSTP moves the gateway's DATA
 * back to CSTP and a DTLS DATA record brings it back; the tunnel's end closes the channel.
 * In-process: `--no-dtls` offers nothing.
 */
import { createPrivateKey } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketType } from '@tandem/anyconnect';
import { DtlsClient } from '@tandem/dtls';
import { standardLab, writeCertAndKey, type Lab } from '@tandem/testkit';
import { GatewayProc } from '../../../test/fixtures/lab-gateway/harness.js';
import { PSK_LABEL } from '../src/dtls-channel.js';
import { Events } from '../src/events.js';
import { startGateway } from '../src/main.js';
import { parseOptions } from '../src/options.js';
import { certsOnly, cstpConnect, CstpClient, icmpEcho, mcaCookie, type ClientTls } from './client.js';

const OFFER = 'X-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC-DTLS1_2-AES128-GCM\r\n';
const GW = '10.232.201.1';

/** The key PSK-NEGOTIATE derives from a CONNECT's TLS connection (no context). */
function psk(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(32, PSK_LABEL, undefined as unknown as Buffer);
}

async function until<T>(check: () => T, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('tandem-lab-gateway DTLS (PSK-NEGOTIATE) with our DtlsClient', () => {
  let lab: Lab;
  let server: { cert: string; key: string };
  let machineTls: ClientTls;
  let cookie: () => Promise<string>;

  beforeAll(async () => {
    lab = await standardLab('tlg-dtls');
    server = writeCertAndKey(lab.dir, 'server', lab.server, lab.server, [lab.intermediate]);
    machineTls = { ca: lab.root.certPem, cert: lab.machine.certPem, key: lab.machine.keyPem };
    const bundle = certsOnly([lab.user.cert, lab.intermediate.cert].map((c) => Buffer.from(c.rawData)));
    cookie = () => mcaCookie(gw.port, machineTls, bundle, createPrivateKey(lab.user.keyPem));
  });

  let gw: GatewayProc;
  beforeAll(async () => {
    gw = await GatewayProc.start([
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      lab.caFile,
      '--mca',
      '--pool',
      '10.232.201.0/24',
      '--echo',
      '--dpd',
      '7',
      '--keepalive',
      '9',
    ]);
  });
  afterAll(async () => gw?.stop());

  it('answers the X-DTLS headers, then handshakes, answers DPD and carries DATA over UDP', async () => {
    expect(gw.events[0]).toMatchObject({ event: 'listening', dtls: gw.port });
    const t = (await cstpConnect(gw.port, machineTls, await cookie(), OFFER)) as CstpClient;
    expect(t).toBeInstanceOf(CstpClient);
    const h = (k: string): string[] => t.response.headers.get(k.toLowerCase()) ?? [];
    expect(h('X-DTLS-Port')).toEqual([String(gw.port)]);
    expect(h('X-DTLS-CipherSuite')).toEqual(['PSK-NEGOTIATE']);
    expect(h('X-DTLS-DPD')).toEqual(['7']);
    expect(h('X-DTLS-Keepalive')).toEqual(['9']);
    expect(h('X-DTLS-Rekey-Method')).toEqual(['new-tunnel']);
    expect(h('X-DTLS-Rekey-Time')).toEqual(['172800']);
    expect(h('X-DTLS-Session-ID')).toEqual([]);
    const appId = h('X-DTLS-App-ID')[0] ?? '';
    expect(appId).toMatch(/^[0-9a-f]{64}$/);
    const address = h('X-CSTP-Address')[0] as string;

    const client = await DtlsClient.connect({
      peer: { address: '127.0.0.1', port: Number(h('X-DTLS-Port')[0]) },
      keying: { kind: 'psk', key: psk(t.socket), sessionId: Buffer.from(appId, 'hex') },
      ciphers: 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256',
      linkMtu: 1500,
      handshakeTimeoutMs: 5000,
    });
    const records: Buffer[] = [];
    const failures: Error[] = [];
    client.start(
      (r, n) => records.push(Buffer.from(r.subarray(0, n))),
      (err) => failures.push(err),
    );
    try {
      expect(client.cipher).toBe('PSK-AES256-GCM-SHA384');
      expect(await gw.waitFor((e) => e.event === 'dtls-connected')).toMatchObject({
        address,
        cipher: 'PSK-AES256-GCM-SHA384',
        version: 'DTLSv1.2',
      });

      // DPD over DTLS: the same payload comes back as DPD-RESP.
      client.send(Buffer.from([PacketType.DPD_REQ, 1, 2, 3, 4]));
      await until(() => records.length === 1, 'the DPD answer');
      expect(records.shift()).toEqual(Buffer.from([PacketType.DPD_RESP, 1, 2, 3, 4]));
      await gw.waitFor((e) => e.event === 'dpd' && e['transport'] === 'dtls');

      // DATA over DTLS: the echo responder's reply comes back over DTLS, not CSTP.
      client.send(Buffer.concat([Buffer.of(PacketType.DATA), icmpEcho(address, GW, 1)]));
      await until(() => records.length === 1, 'the echo reply over DTLS');
      const reply = records.shift() as Buffer;
      expect(reply[0]).toBe(PacketType.DATA);
      expect([...reply.subarray(13, 21)]).toEqual([...GW.split('.'), ...address.split('.')].map(Number));
      expect(t.frames.filter((f) => f.type === PacketType.DATA)).toEqual([]);

      // A DATA frame on CSTP: the client fell back, the answer follows it onto CSTP.
      await t.send(PacketType.DATA, icmpEcho(address, GW, 2));
      expect((await t.next(PacketType.DATA)).payload.readUInt16BE(26)).toBe(2);
      await gw.waitFor((e) => e.event === 'dtls-fallback');
      expect(records).toEqual([]);

      // DATA over DTLS again: back on DTLS.
      client.send(Buffer.concat([Buffer.of(PacketType.DATA), icmpEcho(address, GW, 3)]));
      await until(() => records.length === 1, 'the echo reply over DTLS again');
      expect((records.shift() as Buffer).readUInt16BE(27)).toBe(3);
      await gw.waitFor((e) => e.event === 'dtls-resumed');

      // The tunnel's end closes the channel: the client hears close_notify.
      await t.send(PacketType.DISCONNECT);
      await t.waitClosed();
      expect(await gw.waitFor((e) => e.event === 'disconnect')).toMatchObject({ dtlsPackets: { in: 2, out: 2 } });
      await until(() => failures.length === 1, 'the DTLS channel to close');
      expect(failures[0]?.message).toMatch(/closed the DTLS channel/);
    } finally {
      client.close();
    }
    // Neither the App-ID nor anything like a key reaches the event lines.
    expect(gw.rawLines.join('\n')).not.toContain(appId);
  });

  it('offers no DTLS to a CONNECT without PSK-NEGOTIATE', async () => {
    const t = (await cstpConnect(
      gw.port,
      machineTls,
      await cookie(),
      'X-DTLS-CipherSuite: AES256-SHA\r\n',
    )) as CstpClient;
    expect([...t.response.headers.keys()].filter((k) => k.startsWith('x-dtls'))).toEqual([]);
    await t.send(PacketType.DISCONNECT);
    await t.waitClosed();
  });

  it('--no-dtls: no UDP channel, no X-DTLS headers', async () => {
    const lines: string[] = [];
    const o = parseOptions([
      '--listen',
      '127.0.0.1:0',
      '--cert',
      server.cert,
      '--key',
      server.key,
      '--ca',
      lab.caFile,
      '--mca',
      '--pool',
      '10.232.202.0/24',
      '--echo',
      '--no-dtls',
    ]);
    expect(o?.dtls).toBe(false);
    const inProcess = await startGateway(o!, new Events((l) => lines.push(l)));
    try {
      expect(JSON.parse(lines[0] as string)).toMatchObject({ event: 'listening', dtls: null });
      const bundle = certsOnly([lab.user.cert, lab.intermediate.cert].map((c) => Buffer.from(c.rawData)));
      const c = await mcaCookie(inProcess.port, machineTls, bundle, createPrivateKey(lab.user.keyPem));
      const t = (await cstpConnect(inProcess.port, machineTls, c, OFFER)) as CstpClient;
      expect(t.response.status).toBe(200);
      expect([...t.response.headers.keys()].filter((k) => k.startsWith('x-dtls'))).toEqual([]);
      await t.send(PacketType.DISCONNECT);
      await t.waitClosed();
    } finally {
      await inProcess.close();
    }
  });
});
