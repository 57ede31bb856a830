/**
 * `tandem connect --foreground` against the second real peer, tandem-lab-gateway, in network
 * namespaces: Multiple Certificate Authentication (machine certificate on TLS, user certificate
 * signed over the challenge), the gateway's address pool and TUN, ping through the tunnel, and
 * the namespace restored after SIGINT.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, writePem, type Lab, missing, titled } from '@tandem/testkit';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import { CLI, ConnectClient } from './fixtures/connection/client.js';

const skip = missing('netns', 'ping');
const GW_TUN_ADDR = '10.235.110.1';

describe.skipIf(skip !== null)(
  titled('tandem connect --foreground ↔ tandem-lab-gateway (MCA, pool, TUN) in netns', skip),
  () => {
    const lab = new NetnsLab('tcng', [235, 29]);
    let pki: Lab;
    let gw: GatewayProc;
    let baseline: string;

    beforeAll(async () => {
      buildCli();
      await lab.create();
      pki = await standardLab('tcng');
      const server = writePem(pki.dir, 'server', pki.server, [pki.intermediate]);
      gw = await GatewayProc.start(
        [
          '--cert',
          server.cert,
          '--key',
          server.key,
          '--ca',
          pki.caFile,
          '--mca',
          '--pool',
          '10.235.110.0/24',
          '--split-include',
          '10.235.110.0/24',
          '--tun',
          'tcngw0',
          '--dpd',
          '10',
        ],
        { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
      );
      baseline = await lab.snapshot();
    }, 60_000);

    afterAll(async () => {
      await gw?.stop();
      await lab.destroy();
    });

    it('authenticates with MCA, pings the gateway through the tunnel, logs out and restores the namespace on SIGINT', async () => {
      const machine = writePem(pki.dir, 'machine', pki.machine);
      const user = writePem(pki.dir, 'alice', pki.user);
      const started = Date.now();
      const c = new ConnectClient(
        lab.spawn(lab.cli, process.execPath, [
          CLI,
          'connect',
          'https://vpn.lab.test:8443/',
          '--foreground',
          '--json',
          '--resolve',
          `vpn.lab.test:${lab.srvAddr}`,
          '--cafile',
          pki.caFile,
          '--machine-cert',
          machine.cert,
          '--machine-key',
          machine.key,
          '--user-cert',
          user.cert,
          '--user-key',
          user.key,
          '--journal-dir',
          join(pki.dir, 'journal'),
          '--interface',
          'tcng0',
        ]),
      );
      expect(await c.waitFor('authenticated')).toMatchObject({ mca: true });
      const up = await c.waitFor('connected');
      expect(up).toMatchObject({ address: '10.235.110.2', tun: 'tcng0', routes: ['10.235.110.0/24'] });
      expect(await gw.waitFor((e) => e.event === 'session')).toMatchObject({
        authMode: 'multiple-certificate',
        username: 'alice',
      });
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', GW_TUN_ADDR]);
      const firstReplyMs = Date.now() - started;
      const ping = await lab.exec(lab.cli, 'ping', ['-c', '5', '-i', '0.2', '-W', '2', GW_TUN_ADDR], {
        timeoutMs: 20_000,
      });
      expect(ping).toMatch(/5 packets transmitted, 5 received/);
      process.stdout.write(
        `tandem connect ↔ lab gateway (MCA): tunnel up ${String(up['ms'])} ms (auth ${String(up['authMs'])}, CONNECT ${String(up['connectMs'])}, TUN+routes ${String(up['tunnelUpMs'])}); first ping reply ${firstReplyMs} ms after process start\n`,
      );
      expect(await c.stop()).toBe(0);
      expect(await gw.waitFor((e) => e.event === 'disconnect', 10_000)).toMatchObject({ logout: true });
      expect(c.stdout + c.stderr).not.toMatch(/webvpn=|cookie"?:/i);
      expect(await lab.snapshot()).toBe(baseline);
    }, 60_000);
  },
);
