/**
 * CSTP rekey against a real ocserv (`rekey-method = new-tunnel`, a short `rekey-time`): when the
 * gateway's X-CSTP-Rekey-Time elapses, `tandem connect` drops the TLS connection without a
 * logout and CONNECTs again with the same cookie (Node cannot renegotiate, spec §4.8). Shown:
 * the rekey happens, no fresh authentication is needed, the TUN, routes and DNS stay exactly as
 * they were across it, traffic flows afterwards, and the namespace is restored on exit.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, writePem, type Lab } from './lib/pki.js';
import { missing, titled } from './lib/skip.js';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { CLI, ConnectClient } from './fixtures/connection/client.js';

const skip = missing('netns', 'ocserv', 'ping');
const BEHIND = '10.240.50.1';
const REKEY_SECONDS = 6;

describe.skipIf(skip !== null)(titled('tandem connect --foreground ↔ real ocserv: rekey (new-tunnel)', skip), () => {
  const lab = new NetnsLab('trk', [240, 9]);
  let pki: Lab;
  let files: { cert: string; key: string };
  let gw: Ocserv;
  let baseline: string;
  let journal: string;
  const opts = {
    pool: '10.240.100.0/24', device: 'trkv', routes: ['10.240.50.0/255.255.255.0'], dns: '10.240.9.53', defaultDomain: 'corp.lab.test', dpd: 30, keepalive: 30, cookieTimeout: 60,
    extra: [`rekey-time = ${REKEY_SECONDS}`, 'rekey-method = new-tunnel'],
  };

  beforeAll(async () => {
    buildCli();
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
    pki = await standardLab('trk');
    files = writePem(pki.dir, 'machine', pki.machine);
    journal = join(pki.dir, 'journal');
    gw = await startOcserv(lab, pki, opts);
    await new Promise((r) => setTimeout(r, 300));
    baseline = await lab.snapshot();
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await lab.destroy();
  });

  it('rekeys by reconnecting with the cookie: same TUN, routes and DNS, traffic flows, no new auth', async () => {
    const c = new ConnectClient(lab.spawn(lab.cli, process.execPath, [CLI, 'connect', 'https://vpn.lab.test/', '--foreground', '--json', '--resolve', `vpn.lab.test:${lab.srvAddr}`, '--cafile', pki.caFile, '--machine-cert', files.cert, '--machine-key', files.key, '--journal-dir', journal, '--interface', 'trk0']));
    try {
      const up = await c.waitFor('connected');
      const connectedAt = Date.parse(up.time);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      const during = await lab.snapshot();

      const rekey = await c.waitFor('rekeying', (REKEY_SECONDS + 20) * 1000);
      expect(rekey['method']).toBe('new-tunnel');
      const back = await c.waitFor('reconnected', 20_000);
      expect(back['reauthenticated']).toBe(false);
      // Not a second auth, not a dead peer, not the end of the session.
      expect(c.names().filter((e) => ['authenticated', 'dead', 'ended', 'disconnected'].includes(e))).toEqual(['authenticated']);
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      // Addresses, routes and resolv.conf are untouched by the rekey.
      expect(await lab.snapshot()).toBe(during);
      process.stdout.write(`tandem connect: rekey (${String(rekey['method'])}) ${Date.parse(rekey.time) - connectedAt} ms after connect; new tunnel in ${String(back['ms'])} ms\n`);

      expect(await c.stop('SIGINT')).toBe(0);
      expect(await lab.snapshot()).toBe(baseline);
    } finally {
      if (c.child.exitCode === null) c.child.kill('SIGKILL');
    }
  }, 90_000);
});
