/**
 * A captive portal in front of the gateway, with tandemd (Always-On, ConnectFailurePolicy Closed,
 * remediation allowed) and a real ocserv in network namespaces. While the portal intercepts plain
 * HTTP to the gateway's address (a redirect to its login page) and the gateway's TLS port is
 * down, the agent reports the portal, keeps the block, and opens it to the portal's address only;
 * after the user "signs in" (the portal stops intercepting, the gateway answers), the next probe
 * clears the portal and the machine tunnel comes up.
 */
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import {
  agentArgs,
  ensureAgentBuilt,
  ROOT,
  runClient,
  scratch,
  TANDEMD,
  type Scratch,
} from './fixtures/agent/helpers.js';

const skip = missing('netns', 'ocserv', 'nft', 'curl');
const PORTAL = '10.240.88.1';
const SINK = '10.240.77.1';

/** The portal: intercepts requests for the gateway's name until /tmp flag says signed in. */
const PORTAL_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const flag = process.argv[1];
http.createServer((req, res) => {
  const host = (req.headers.host || '').split(':')[0];
  if (host === 'vpn.lab.test' && !fs.existsSync(flag)) {
    res.writeHead(302, { location: 'http://portal.lab.test/login?orig=vpn' });
    return res.end();
  }
  if (host === 'vpn.lab.test') { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<form action="/login" method="post"><input name="room"></form>');
}).listen(80, '0.0.0.0');
`;

describe.skipIf(skip !== null)(titled('tandemd captive portal with Always-On (netns, ocserv)', skip), () => {
  const lab = new NetnsLab('cpt', [240, 9]);
  let pki: Lab;
  let gw: Ocserv | null = null;
  let s: Scratch;
  let flag: string;

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    for (const a of [PORTAL, SINK]) await lab.exec(lab.srv, 'ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    await lab.exec(lab.srv, 'nft', ['add', 'table', 'inet', 'sink']);
    await lab.exec(lab.srv, 'nft', [
      'add',
      'chain',
      'inet',
      'sink',
      'in',
      '{ type filter hook input priority 0 ; policy accept ; }',
    ]);
    await lab.exec(lab.srv, 'nft', [
      'add',
      'rule',
      'inet',
      'sink',
      'in',
      'ip',
      'saddr',
      lab.cliAddr,
      'ip',
      'daddr',
      SINK,
      'counter',
    ]);
    pki = await standardLab('cpt');
    s = scratch();
    flag = join(s.dir, 'signed-in');
    const mgmt = join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml');
    copyFileSync(join(ROOT, 'test/fixtures/agent/mgmt-lab.xml'), mgmt);
    chmodSync(mgmt, 0o644);
    writeFileSync(join(s.profiles, 'user.xml'), readFileSync(join(ROOT, 'test/fixtures/agent/user-always-on.xml')), {
      mode: 0o644,
    });
    writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
    lab.spawn(lab.srv, process.execPath, ['-e', PORTAL_SERVER, flag]);
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await lab.destroy();
    s?.cleanup();
  });

  async function network(): Promise<{ trust: string; blocked?: boolean; portal?: string } | null> {
    const r = await runClient(s.socket, { calls: [['status', {}]] }).catch(() => null);
    const st = r?.results[0]?.result as
      | { machine: { status: { state: string } }; network?: { trust: string; blocked?: boolean; portal?: string } }
      | undefined;
    return st?.network ?? null;
  }

  const curl = (url: string) =>
    lab.exec(lab.cli, 'curl', ['-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', url]).catch(() => 'failed');

  it('reports the portal, opens the block to it only, and connects once the user signed in', async () => {
    const child = lab.spawn(lab.cli, process.execPath, [
      TANDEMD,
      ...agentArgs(s),
      '--gateway-ca',
      pki.caFile,
      '--resolve',
      `vpn.lab.test:${lab.srvAddr}`,
      '--resolve',
      `portal.lab.test:${PORTAL}`,
      '--log-level',
      'debug',
    ]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const end = Date.now() + 20_000;
      let net = await network();
      while (net?.portal !== 'detected' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        net = await network();
      }
      expect(net, err.slice(-4000)).toMatchObject({ trust: 'untrusted', blocked: true, portal: 'detected' });
      // Remediation: the portal's login page loads; everything else stays blocked.
      expect(await curl(`http://${PORTAL}/login`)).toBe('200');
      expect(await curl(`http://${SINK}/`)).toBe('failed');
      const sink = await lab.exec(lab.srv, 'nft', ['list', 'chain', 'inet', 'sink', 'in']);
      expect(sink).toMatch(/counter packets 0 /);
      // The user signs in; the gateway becomes reachable.
      writeFileSync(flag, 'yes');
      gw = await startOcserv(lab, pki, { pool: '10.240.100.0/24', device: 'cptv', dpd: 3 });
      const up = Date.now() + 60_000;
      for (;;) {
        const r = await runClient(s.socket, { calls: [['status', {}]] }).catch(() => null);
        const st = r?.results[0]?.result as { machine: { status: { state: string } }; network?: { portal?: string } };
        if (st?.machine.status.state === 'connected' && st.network?.portal === undefined) break;
        if (Date.now() > up) throw new Error(`not connected after sign-in:\n${err.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(err).toMatch(/captive portal check.*"state":"detected".*HTTP 302 to portal.lab.test/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
