/**
 * Full tunnel (the gateway pushes no split routes): `tandem connect --foreground` moves the
 * default route onto the TUN (keeping a host route to the gateway), SIGINT puts it back, and
 * after a SIGKILL the namespace has no default route at all until `tandem recover` restores it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, titled } from '@tandem/testkit';
import { CLI } from './fixtures/connection/client.js';
import { OcservConnectLab } from './fixtures/connection/ocserv-lab.js';

const skip = missing('netns', 'ocserv', 'ping');
const BEHIND = '10.235.70.1';

describe.skipIf(skip !== null)(
  titled('tandem connect --foreground, full tunnel ↔ real ocserv (default route via the TUN)', skip),
  () => {
    const env = new OcservConnectLab('tcnf', [235, 39], BEHIND, {
      pool: '10.235.102.0/24',
      device: 'tcnfv',
      dns: '10.235.39.53',
    });
    const lab = env.lab;

    beforeAll(() => env.start(), 60_000);
    afterAll(() => env.stop());

    const connect = () => env.connect('tcnf0');
    const defaultRoutes = async (): Promise<string> =>
      (await lab.exec(lab.cli, 'ip', ['-4', 'route', 'show', 'default'])).trim();

    it('default route via the TUN while connected, the gateway kept reachable outside; SIGINT restores', async () => {
      const c = connect();
      expect(await c.waitFor('connected')).toMatchObject({ routes: [] });
      expect(await defaultRoutes()).toMatch(/^default dev tcnf0/);
      expect(await lab.exec(lab.cli, 'ip', ['-4', 'route', 'get', lab.srvAddr])).not.toContain('tcnf0');
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      expect(await c.stop()).toBe(0);
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 60_000);

    it('SIGKILL while connected: no default route left until tandem recover puts the original back', async () => {
      const c = connect();
      await c.waitFor('connected');
      await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
      c.child.kill('SIGKILL');
      await c.exit();
      // The kernel removed the TUN with the process, and with it the default route through it.
      expect(await defaultRoutes()).toBe('');
      const report = await lab.exec(lab.cli, process.execPath, [CLI, 'recover', '--journal-dir', env.journal]);
      expect(report).toMatch(/default|route|restored/i);
      expect(await defaultRoutes()).toBe(`default via ${lab.srvAddr} dev tcnf-vc`);
      expect(await lab.snapshot()).toBe(env.baseline);
    }, 60_000);
  },
);
