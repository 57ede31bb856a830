/**
 * CSTP rekey against a real ocserv (`rekey-method = new-tunnel`, a short `rekey-time`): when the
 * gateway's X-CSTP-Rekey-Time elapses, `tandem connect` drops the TLS connection without a
 * logout and CONNECTs again with the same cookie (Node cannot renegotiate, docs/protocol.md#rekey). Shown:
 * the rekey happens, no fresh authentication is needed, the TUN, routes and DNS stay exactly as
 * they were across it, traffic flows afterwards, and the namespace is restored on exit. ocserv
 * offers DTLS too: it comes up again after the rekey (new key, new App-ID) and carries the data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import { OcservConnectLab } from './fixtures/connection/ocserv-lab.js';

const skip = missing('netns', 'ocserv', 'ping');
const BEHIND = '10.240.50.1';
const REKEY_SECONDS = 6;

describe.skipIf(skip !== null)(titled('tandem connect --foreground ↔ real ocserv: rekey (new-tunnel)', skip), () => {
  const env = new OcservConnectLab('trk', [240, 9], BEHIND, {
    pool: '10.240.100.0/24',
    device: 'trkv',
    routes: ['10.240.50.0/255.255.255.0'],
    dns: '10.240.9.53',
    defaultDomain: 'corp.lab.test',
    dpd: 30,
    keepalive: 30,
    cookieTimeout: 60,
    extra: [`rekey-time = ${REKEY_SECONDS}`, 'rekey-method = new-tunnel', 'udp-port = 443'],
  });
  const lab = env.lab;

  beforeAll(() => env.start(), 60_000);
  afterAll(() => env.stop());

  it('rekeys by reconnecting with the cookie: same TUN, routes and DNS, traffic flows, no new auth', async () => {
    const c = env.connect('trk0');
    try {
      const up = await c.waitFor('connected');
      const connectedAt = Date.parse(up.time);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      const during = await lab.snapshot();

      const rekey = await c.waitFor('rekeying', (REKEY_SECONDS + 20) * 1000);
      expect(rekey['method']).toBe('new-tunnel');
      const back = await c.waitFor('reconnected', 20_000);
      expect(back['reauthenticated']).toBe(false);
      // DTLS starts over on the new CSTP session's key.
      const dtlsAgain = await c.waitFor('dtls-up', 15_000, c.events.indexOf(back));
      expect(dtlsAgain['protocol']).toBe('DTLSv1.2');
      // Not a second auth, not a dead peer, not the end of the session.
      expect(c.names().filter((e) => ['authenticated', 'dead', 'ended', 'disconnected'].includes(e))).toEqual([
        'authenticated',
      ]);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      // Addresses, routes and resolv.conf are untouched by the rekey.
      expect(await lab.snapshot()).toBe(during);
      process.stdout.write(
        `tandem connect: rekey (${String(rekey['method'])}) ${Date.parse(rekey.time) - connectedAt} ms after connect; new tunnel in ${String(back['ms'])} ms\n`,
      );

      expect(await c.stop('SIGINT')).toBe(0);
      const end = await c.waitFor('disconnected');
      expect((end['datapath'] as { toGatewayDtls: number }).toGatewayDtls).toBeGreaterThan(0);
      expect(await lab.snapshot()).toBe(env.baseline);
    } finally {
      if (c.child.exitCode === null) c.child.kill('SIGKILL');
    }
  }, 90_000);
});
