/**
 * A full openconnect tunnel through tandem-lab-gateway in network namespaces: the gateway runs
 * in tlg-srv with its TUN device and pool 10.232.100.0/24, openconnect (MCA, real TUN, our tiny
 * --script) runs in tlg-cli; ping the gateway's tunnel address through the tunnel (over DTLS:
 * openconnect offers PSK-NEGOTIATE, the gateway answers it), then SIGINT openconnect and expect a
 * logout disconnect.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { standardLab, type Lab, missing, titled, writeCertAndKey } from '@tandem/testkit';
import { GatewayProc, ROOT } from './fixtures/lab-gateway/harness.js';

const skip = missing('root', 'netns', 'openconnect', 'ping');
const GW_TUN_ADDR = '10.232.100.1';

describe.skipIf(skip !== null)(titled('lab-gateway full tunnel with openconnect in netns', skip), () => {
  let lab: Lab;
  let ns: NetnsLab;
  let gw: GatewayProc;

  beforeAll(async () => {
    lab = await standardLab('tlg-tun');
    ns = new NetnsLab('tlg', [232, 1]);
    await ns.create();
    const server = writeCertAndKey(lab.dir, 'server', lab.server, lab.server, [lab.intermediate]);
    gw = await GatewayProc.start(
      [
        '--cert',
        server.cert,
        '--key',
        server.key,
        '--ca',
        lab.caFile,
        '--mca',
        '--pool',
        '10.232.100.0/24',
        '--split-include',
        '10.232.100.0/24',
        '--dns',
        GW_TUN_ADDR,
        '--default-domain',
        'lab.test',
        '--dpd',
        '10',
        '--banner',
        'Tandem lab',
      ],
      { netns: ns.srv, listen: `${ns.srvAddr}:8443` },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await ns?.destroy();
  });

  it('pings the gateway through the tunnel and logs out on SIGINT', async () => {
    const machine = writeCertAndKey(lab.dir, 'machine', lab.machine);
    const user = writeCertAndKey(lab.dir, 'alice', lab.user);
    const root = writeCertAndKey(lab.dir, 'root', lab.root);
    const oc = ns.spawn(
      ns.cli,
      'openconnect',
      [
        '--non-inter',
        '--cafile',
        root.cert,
        '--resolve',
        `vpn.lab.test:${ns.srvAddr}`,
        '-c',
        machine.cert,
        '-k',
        machine.key,
        '--mca-certificate',
        user.cert,
        '--mca-key',
        user.key,
        '--script',
        join(ROOT, 'test/fixtures/lab-gateway/oc-script.sh'),
        '--interface',
        'tlgtun0',
        'https://vpn.lab.test:8443/',
      ],
      { env: { ...process.env, TLG_PEER: GW_TUN_ADDR } },
    );
    let ocErr = '';
    oc.stderr?.on('data', (c: Buffer) => (ocErr += c.toString()));
    const exited = new Promise<number | null>((r) => oc.on('exit', (code) => r(code)));

    const up = await gw.waitFor((e) => e.event === 'tunnel-up', 20_000);
    expect(up).toMatchObject({ username: 'alice', address: '10.232.100.2' });
    expect(await gw.waitFor((e) => e.event === 'session')).toMatchObject({
      authMode: 'multiple-certificate',
      username: 'alice',
    });
    // The script runs after CONNECT; wait until the address is on the client's TUN.
    for (let i = 0; i < 50; i++) {
      if ((await ns.exec(ns.cli, 'ip', ['-o', 'addr', 'show'])).includes('10.232.100.2')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ping = await ns.exec(ns.cli, 'ping', ['-c', '10', '-i', '0.2', '-W', '2', GW_TUN_ADDR], {
      timeoutMs: 20_000,
    });
    expect(ping, ocErr).toMatch(/10 packets transmitted, 10 received/);
    const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(ping);
    process.stdout.write(`ping through tunnel rtt min/avg/max ms: ${rtt?.slice(1, 4).join('/')}\n`);
    // The client namespace's resolv.conf is untouched by our script.
    expect(await ns.exec(ns.cli, 'cat', ['/etc/resolv.conf'])).toContain('nameserver 192.0.2.53');

    // openconnect (GnuTLS) made the DTLS handshake with the gateway's OpenSSL, and data used it.
    expect(await gw.waitFor((e) => e.event === 'dtls-connected')).toMatchObject({
      address: '10.232.100.2',
      cipher: expect.stringMatching(/^PSK-AES(128|256)-GCM-SHA(256|384)$/),
      version: 'DTLSv1.2',
    });
    oc.kill('SIGINT');
    const d = await gw.waitFor((e) => e.event === 'disconnect', 10_000);
    expect(d).toMatchObject({ logout: true, address: '10.232.100.2' });
    const dtlsPackets = d['dtlsPackets'] as { in: number; out: number };
    expect(dtlsPackets.in, JSON.stringify(gw.events)).toBeGreaterThan(0);
    expect(dtlsPackets.out).toBeGreaterThan(0);
    expect(await exited).toBe(0);
  }, 60_000);
});
