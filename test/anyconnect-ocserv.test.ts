/**
 * Our client against a real ocserv 1.1.6 in network namespaces: certificate auth (RSA and
 * ECDSA), CONNECT with the typed tunnel configuration, DPD answered, an ICMP echo through the
 * tunnel, 2000 back-to-back packets without breaking one-frame-per-record, logout, and the
 * cookie refused afterwards.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, writePem, type Lab, type KeyKind } from './lib/pki.js';
import { missing, titled } from './lib/skip.js';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { buildCli } from './fixtures/anyconnect/cli.js';

const skip = missing('netns', 'ocserv');
const ROOT = join(import.meta.dirname, '..');
const CLIENT = join(ROOT, 'test/fixtures/anyconnect/cstp-client.mjs');
const CLI = join(ROOT, 'apps/cli/bin/tandem.js');

describe.skipIf(skip !== null)(titled('anyconnect client ↔ real ocserv', skip), () => {
  for (const [kind, n] of [['rsa2048', 1], ['ec256', 2]] as Array<[KeyKind, number]>) {
    describe(kind, () => {
      const lab = new NetnsLab(`tac${n}`, [231, n]);
      let pki: Lab;
      let gw: Ocserv;
      let files: { cert: string; key: string };

      beforeAll(async () => {
        buildCli();
        await lab.create();
        pki = await standardLab(`tac-oc-${kind}`, kind);
        files = writePem(pki.dir, 'machine', pki.machine);
        gw = await startOcserv(lab, pki, { pool: `10.231.${100 + n}.0/24`, device: `tac${n}v`, routes: [`10.231.${50 + n}.0/255.255.255.0`], dns: '10.231.9.53', defaultDomain: 'corp.lab.test', dpd: 10, keepalive: 5 });
      }, 60_000);

      afterAll(async () => {
        await gw?.stop();
        await lab.destroy();
      });

      it('tandem auth succeeds with the machine certificate (strict trust)', async () => {
        const out = await lab.exec(lab.cli, process.execPath, [CLI, 'auth', 'https://vpn.lab.test/', '--resolve', `vpn.lab.test:${lab.srvAddr}`, '--cafile', pki.caFile, '--strict', '--machine-cert', files.cert, '--machine-key', files.key, '--json']);
        const res = JSON.parse(out) as Record<string, unknown>;
        expect(res).toMatchObject({ authenticated: true, mca: false, gateway: 'https://vpn.lab.test/' });
        expect(out).not.toMatch(/webvpn|cookie/i);
      });

      it('CSTP: typed config, DPD answered, ICMP echo through the tunnel, 2000 packets, logout kills the cookie', async () => {
        const out = await lab.exec(lab.cli, process.execPath, [CLIENT, 'https://vpn.lab.test/', lab.srvAddr, pki.caFile, files.cert, files.key], { env: { ...process.env, GW_TUN_IP: `10.231.${100 + n}.1` }, timeoutMs: 30_000 });
        const res = JSON.parse(out) as { config: Record<string, unknown>; echoReplyBytes: number; stats: Record<string, number>; closedEarly: boolean; afterLogout: string };
        expect(res.config).toMatchObject({ mtu: expect.any(Number), dpd: 10, dns: ['10.231.9.53'], domains: ['corp.lab.test'], routes: [{ address: `10.231.${50 + n}.0`, prefix: 24, family: 4 }] });
        expect(String(res.config['address'])).toMatch(new RegExp(`^10\\.231\\.${100 + n}\\.`));
        expect(res.echoReplyBytes).toBe(44);
        expect(res.stats['dpdReplies']).toBeGreaterThanOrEqual(1);
        expect(res.closedEarly).toBe(false);
        expect(res.stats['packetsIn']).toBeGreaterThan(1000);
        expect(res.afterLogout).toBe('E_COOKIE_REJECTED');
        expect(gw.log.join('')).not.toMatch(/unexpected CSTP length/);
      });
    });
  }
});
