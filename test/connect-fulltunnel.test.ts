/**
 * Full tunnel (the gateway pushes no split routes): `tandem connect --foreground` moves the
 * default route onto the TUN (keeping a host route to the gateway), SIGINT puts it back, and
 * after a SIGKILL the namespace has no default route at all until `tandem recover` restores it.
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
const BEHIND = '10.235.70.1';

describe.skipIf(skip !== null)(titled('tandem connect --foreground, full tunnel ↔ real ocserv (default route via the TUN)', skip), () => {
  const lab = new NetnsLab('tcnf', [235, 39]);
  let pki: Lab;
  let files: { cert: string; key: string };
  let gw: Ocserv;
  let baseline: string;
  let journal: string;

  beforeAll(async () => {
    buildCli();
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
    pki = await standardLab('tcnf');
    files = writePem(pki.dir, 'machine', pki.machine);
    journal = join(pki.dir, 'journal');
    gw = await startOcserv(lab, pki, { pool: '10.235.102.0/24', device: 'tcnfv', dns: '10.235.39.53' });
    baseline = await lab.snapshot();
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await lab.destroy();
  });

  const connect = (): ConnectClient => new ConnectClient(lab.spawn(lab.cli, process.execPath, [CLI, 'connect', 'https://vpn.lab.test/', '--foreground', '--json', '--resolve', `vpn.lab.test:${lab.srvAddr}`, '--cafile', pki.caFile, '--machine-cert', files.cert, '--machine-key', files.key, '--journal-dir', journal, '--interface', 'tcnf0']));
  const defaultRoutes = async (): Promise<string> => (await lab.exec(lab.cli, 'ip', ['-4', 'route', 'show', 'default'])).trim();

  it('default route via the TUN while connected, the gateway kept reachable outside; SIGINT restores', async () => {
    const c = connect();
    expect(await c.waitFor('connected')).toMatchObject({ routes: [] });
    expect(await defaultRoutes()).toMatch(/^default dev tcnf0/);
    expect(await lab.exec(lab.cli, 'ip', ['-4', 'route', 'get', lab.srvAddr])).not.toContain('tcnf0');
    await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
    expect(await c.stop()).toBe(0);
    expect(await lab.snapshot()).toBe(baseline);
  }, 60_000);

  it('SIGKILL while connected: no default route left until tandem recover puts the original back', async () => {
    const c = connect();
    await c.waitFor('connected');
    await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
    c.child.kill('SIGKILL');
    await c.exit();
    // The kernel removed the TUN with the process, and with it the default route through it.
    expect(await defaultRoutes()).toBe('');
    const report = await lab.exec(lab.cli, process.execPath, [CLI, 'recover', '--journal-dir', journal]);
    expect(report).toMatch(/default|route|restored/i);
    expect(await defaultRoutes()).toBe(`default via ${lab.srvAddr} dev tcnf-vc`);
    expect(await lab.snapshot()).toBe(baseline);
  }, 60_000);
});
