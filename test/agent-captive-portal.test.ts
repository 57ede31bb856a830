/**
 * A captive portal in front of the gateway, with tandemd (Always-On, ConnectFailurePolicy Closed,
 * remediation allowed) and a real ocserv in network namespaces. While the portal intercepts plain
 * HTTP to the gateway's address (a redirect to its login page) and the gateway's TLS port is
 * down, the agent reports the portal, keeps the block, and opens it to the portal's address only;
 * after the user "signs in" (the portal stops intercepting, the gateway answers), the next probe
 * clears the portal and the machine tunnel comes up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { ensureAgentBuilt, ROOT, scratch, type Scratch } from './fixtures/agent/helpers.js';
import { installMachineIdentity, Sink, startNetnsAgent, waitStatus } from './fixtures/agent/netns-agent.js';

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
  const sink = new Sink(lab, SINK);

  beforeAll(async () => {
    ensureAgentBuilt();
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${PORTAL}/32`, 'dev', 'lo']);
    await sink.create();
    pki = await standardLab('cpt');
    s = scratch();
    flag = join(s.dir, 'signed-in');
    installMachineIdentity(s, pki);
    writeFileSync(join(s.profiles, 'user.xml'), readFileSync(join(ROOT, 'test/fixtures/agent/user-always-on.xml')), {
      mode: 0o644,
    });
    lab.spawn(lab.srv, process.execPath, ['-e', PORTAL_SERVER, flag]);
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await lab.destroy();
    s?.cleanup();
  });

  const curl = (url: string) =>
    lab.exec(lab.cli, 'curl', ['-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', url]).catch(() => 'failed');

  it('reports the portal, opens the block to it only, and connects once the user signed in', async () => {
    const agent = startNetnsAgent(lab, s, pki, [`portal.lab.test:${PORTAL}`]);
    try {
      const st = await waitStatus(s, agent, (x) => x.network?.portal === 'detected', 20_000);
      expect(st.network).toMatchObject({ trust: 'untrusted', blocked: true, portal: 'detected' });
      // Remediation: the portal's login page loads; everything else stays blocked.
      expect(await curl(`http://${PORTAL}/login`)).toBe('200');
      expect(await curl(`http://${SINK}/`)).toBe('failed');
      expect(await sink.count()).toBe(0);
      // The user signs in; the gateway becomes reachable.
      writeFileSync(flag, 'yes');
      gw = await startOcserv(lab, pki, { pool: '10.240.100.0/24', device: 'cptv', dpd: 3 });
      await waitStatus(s, agent, (x) => x.machine.status.state === 'connected' && !x.network?.portal, 60_000);
      expect(agent.stderr()).toMatch(/captive portal check.*"state":"detected".*HTTP 302 to portal.lab.test/);
    } finally {
      agent.child.kill('SIGTERM');
      await agent.exited;
    }
  }, 120_000);
});
