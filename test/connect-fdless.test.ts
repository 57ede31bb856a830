/**
 * The data path Wintun and utun get, run here for real: `tandem connect --foreground`'s
 * Connection against ocserv with DTLS, over a Linux TUN whose fd is hidden from it
 * (test/fixtures/connection/fdless-connect.mjs), so no native pump is used and every packet,
 * both ways, over CSTP and over DTLS, passes through JavaScript — as on Windows and macOS, where
 * the device has no fd to pump. Traffic must flow over DTLS (UDP counted in the client
 * namespace), a TCP upload must arrive intact, and the network must be restored after.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import { OcservConnectLab } from './fixtures/connection/ocserv-lab.js';
import { uploadSinkClient, uploadSinkServer } from './fixtures/connection/upload-sink.js';
import { ConnectClient } from './fixtures/connection/client.js';
import { ROOT } from './fixtures/agent/helpers.js';

const skip = missing('netns', 'ocserv', 'ping', 'nft', 'python3');
const BEHIND = '10.235.73.1';
const SINK_PORT = 5003;

const SINK_SERVER = uploadSinkServer(BEHIND, SINK_PORT);
const SINK_CLIENT = uploadSinkClient(BEHIND, SINK_PORT, 4);

describe.skipIf(skip !== null)(
  titled('the fd-less data path (Wintun/utun) over a Linux TUN ↔ real ocserv', skip),
  () => {
    const env = new OcservConnectLab('tcfl', [235, 43], BEHIND, {
      pool: '10.235.106.0/24',
      device: 'tcflv',
      routes: [`${BEHIND}/255.255.255.255`],
      dpd: 10,
      keepalive: 30,
      extra: ['udp-port = 443'],
    });
    const lab = env.lab;
    const nft = (...args: string[]) => lab.exec(lab.cli, 'nft', args);

    beforeAll(async () => {
      await env.start();
      lab.spawn(lab.srv, 'python3', ['-c', SINK_SERVER]);
      await nft('add', 'table', 'inet', 'tcfl');
      await nft('add', 'chain', 'inet', 'tcfl', 'out', '{ type filter hook output priority 0; }');
      await nft('add', 'rule', 'inet', 'tcfl', 'out', 'udp', 'dport', '443', 'counter');
    }, 60_000);

    afterAll(async () => {
      await nft('delete', 'table', 'inet', 'tcfl').catch(() => {});
      await env.stop();
    });

    const udpOut = async (): Promise<number> =>
      Number(/udp dport 443 counter packets (\d+)/.exec(await nft('list', 'chain', 'inet', 'tcfl', 'out'))?.[1] ?? NaN);

    it('CSTP and DTLS carry traffic with every packet through JavaScript; the network is restored', async () => {
      const c = new ConnectClient(
        lab.spawn(lab.cli, process.execPath, [
          join(ROOT, 'test/fixtures/connection/fdless-connect.mjs'),
          ...['https://vpn.lab.test/', `vpn.lab.test:${lab.srvAddr}`, env.pki.caFile],
          ...[env.files.cert, env.files.key, env.journal, 'tcfl0'],
        ]),
      );
      try {
        await c.waitFor('connected');
        await c.waitFor('dtls-up', 15_000);
        const before = await udpOut();
        await lab.exec(lab.cli, 'ping', ['-c20', '-i0.05', '-W2', BEHIND]);
        expect((await udpOut()) - before).toBeGreaterThanOrEqual(20);
        const t0 = Date.now();
        const [sent, received] = (await lab.exec(lab.cli, 'python3', ['-c', SINK_CLIENT], { timeoutMs: 60_000 }))
          .trim()
          .split(' ');
        process.stdout.write(`fd-less data path: 4 MiB upload through the tunnel in ${Date.now() - t0} ms\n`);
        expect(received).toBe(sent);
      } finally {
        expect(await c.stop('SIGINT')).toBe(0);
      }
      const closed = await c.waitFor('closed');
      const dp = closed['datapath'] as { toGatewayDtls: number; fromGatewayDtls: number; fromGateway: number };
      expect(dp.toGatewayDtls).toBeGreaterThanOrEqual(20);
      expect(dp.fromGatewayDtls).toBeGreaterThanOrEqual(20);
      // The device read every packet itself and handed it to JavaScript: a pump reading the fd
      // would leave its own counters at zero.
      const tun = closed['tun'] as { rxPackets: number; txPackets: number };
      expect(tun.rxPackets).toBeGreaterThanOrEqual(dp.toGatewayDtls);
      expect(tun.txPackets).toBeGreaterThanOrEqual(dp.fromGatewayDtls);
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 90_000);
  },
);
