/**
 * Our client against a real ocserv 1.1.6 in network namespaces: certificate auth (RSA and
 * ECDSA), the profile manifest download, CONNECT with the typed tunnel configuration, DPD
 * answered, an ICMP echo through the tunnel, 2000 back-to-back packets without breaking
 * one-frame-per-record, a cookie reconnect that keeps the lease, logout, and the cookie
 * refused afterwards. `tandem auth` exit codes, JSON and cookie hygiene; timing next to
 * `openconnect --authenticate`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { issue, KU, standardLab, writePem, type Lab, type KeyKind, missing, titled } from '@tandem/testkit';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { buildCli } from './fixtures/anyconnect/cli.js';

const skip = missing('netns', 'ocserv');
const PROFILE =
  '<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ServerList><HostEntry><HostName>Lab</HostName><HostAddress>vpn.lab.test</HostAddress></HostEntry></ServerList></AnyConnectProfile>\n';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function cliIn(lab: NetnsLab, args: string[]): Promise<CliRun> {
  const t0 = Date.now();
  try {
    const stdout = await lab.exec(lab.cli, process.execPath, [CLI, 'auth', ...args]);
    return { code: 0, stdout, stderr: '', ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - t0 };
  }
}
const ROOT = join(import.meta.dirname, '..');
const CLIENT = join(ROOT, 'test/fixtures/anyconnect/cstp-client.mjs');
const CLI = join(ROOT, 'apps/cli/bin/tandem.js');

describe.skipIf(skip !== null)(titled('anyconnect client ↔ real ocserv', skip), () => {
  for (const [kind, n] of [
    ['rsa2048', 1],
    ['ec256', 2],
  ] as Array<[KeyKind, number]>) {
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
        const profile = join(pki.dir, 'profile.xml');
        writeFileSync(profile, PROFILE, { mode: 0o644 });
        gw = await startOcserv(lab, pki, {
          pool: `10.231.${100 + n}.0/24`,
          device: `tac${n}v`,
          routes: [`10.231.${50 + n}.0/255.255.255.0`],
          dns: '10.231.9.53',
          defaultDomain: 'corp.lab.test',
          dpd: 10,
          keepalive: 5,
          extra: [`user-profile = ${profile}`],
        });
      }, 60_000);

      afterAll(async () => {
        await gw?.stop();
        await lab.destroy();
      });

      it('tandem auth succeeds with the machine certificate (strict trust)', async () => {
        const out = await lab.exec(lab.cli, process.execPath, [
          CLI,
          'auth',
          'https://vpn.lab.test/',
          '--resolve',
          `vpn.lab.test:${lab.srvAddr}`,
          '--cafile',
          pki.caFile,
          '--strict',
          '--machine-cert',
          files.cert,
          '--machine-key',
          files.key,
          '--json',
        ]);
        const res = JSON.parse(out) as Record<string, unknown>;
        expect(res).toMatchObject({ authenticated: true, mca: false, gateway: 'https://vpn.lab.test/' });
        expect(Object.keys(res).sort()).toEqual(
          ['authenticated', 'banner', 'elapsedMs', 'gateway', 'mca', 'serverCertSha256', 'serverPin']
            .filter((k) => k in res)
            .sort(),
        );
        expect(res).not.toHaveProperty('cookie');
        expect(out).not.toMatch(/webvpn|cookie/i);
      });

      it('tandem auth: --print-cookie prints the cookie, refusals exit 1 with the reason, usage exits 2', async () => {
        const base = ['https://vpn.lab.test/', '--resolve', `vpn.lab.test:${lab.srvAddr}`, '--cafile', pki.caFile];
        const cert = ['--machine-cert', files.cert, '--machine-key', files.key];
        const printed = await cliIn(lab, [...base, ...cert, '--json', '--print-cookie']);
        expect(printed.code).toBe(0);
        expect(JSON.parse(printed.stdout)['cookie']).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
        const text = await cliIn(lab, [...base, ...cert]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^Authenticated to https:\/\/vpn\.lab\.test\//);
        expect(text.stdout).not.toMatch(/COOKIE|webvpn/);
        const noCert = await cliIn(lab, [...base, '--json']);
        expect(noCert.code).toBe(1);
        expect(noCert.stderr).toMatch(/401 No certificate/);
        expect(JSON.parse(noCert.stdout)).toMatchObject({ authenticated: false, error: { code: 'E_AUTH_REJECTED' } });
        const other = await issue({ subject: 'CN=Elsewhere CA', ca: true, keyUsage: KU.keyCertSign });
        const otherCa = join(pki.dir, 'other-ca.pem');
        writeFileSync(otherCa, other.certPem);
        const untrusted = await cliIn(lab, [
          'https://vpn.lab.test/',
          '--resolve',
          `vpn.lab.test:${lab.srvAddr}`,
          '--cafile',
          otherCa,
          ...cert,
        ]);
        expect(untrusted.code).toBe(1);
        expect(untrusted.stderr).toMatch(/untrusted: issuer .* is not in the trust store \(server's pin-sha256:/);
        expect((await cliIn(lab, ['https://vpn.lab.test/', '--machine-cert', files.cert])).code).toBe(2);
      });

      it('timing: tandem auth next to openconnect --authenticate (same gateway, same certificate)', async () => {
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await cliIn(lab, [
            'https://vpn.lab.test/',
            '--resolve',
            `vpn.lab.test:${lab.srvAddr}`,
            '--cafile',
            pki.caFile,
            '--machine-cert',
            files.cert,
            '--machine-key',
            files.key,
            '--json',
          ]);
          expect(r.code).toBe(0);
          ours.push(r.ms);
          const t0 = Date.now();
          const oc = await lab.exec(lab.cli, 'openconnect', [
            '--protocol=anyconnect',
            '--authenticate',
            '--non-inter',
            '--cafile',
            pki.caFile,
            '--certificate',
            files.cert,
            '--sslkey',
            files.key,
            `--resolve=vpn.lab.test:${lab.srvAddr}`,
            'https://vpn.lab.test/',
          ]);
          theirs.push(Date.now() - t0);
          expect(oc).toMatch(/COOKIE=/);
        }
        const median = (a: number[]) => [...a].sort((x, y) => x - y)[1]!;
        console.log(
          `[${kind}] tandem auth (process, median of 3): ${median(ours)} ms; openconnect --authenticate: ${median(theirs)} ms`,
        );
        expect(median(ours)).toBeLessThan(5000);
      });

      it('CSTP: manifest profile, typed config, DPD answered, ICMP echo, 2000 packets, cookie reconnect keeps the lease, logout kills the cookie', async () => {
        const out = await lab.exec(
          lab.cli,
          process.execPath,
          [CLIENT, 'https://vpn.lab.test/', lab.srvAddr, pki.caFile, files.cert, files.key],
          { env: { ...process.env, GW_TUN_IP: `10.231.${100 + n}.1` }, timeoutMs: 30_000 },
        );
        const res = JSON.parse(out) as {
          config: Record<string, unknown>;
          echoReplyBytes: number;
          stats: Record<string, number>;
          closedEarly: boolean;
          afterLogout: string;
          profileBytes: number;
          burst: Record<string, number>;
          reconnect: Record<string, unknown>;
          authMs: number;
          connectMs: number;
        };
        console.log(`[${kind}] auth ${res.authMs} ms, CONNECT ${res.connectMs} ms, burst ${JSON.stringify(res.burst)}`);
        expect(res.profileBytes).toBe(Buffer.byteLength(PROFILE));
        expect(res.burst['replies']).toBe(2000);
        expect(res.reconnect).toEqual({ kind: 'connected', sameAddress: true, echoReplyBytes: 44 });
        expect(res.config).toMatchObject({
          mtu: expect.any(Number),
          dpd: 10,
          dns: ['10.231.9.53'],
          domains: ['corp.lab.test'],
          routes: [{ address: `10.231.${50 + n}.0`, prefix: 24, family: 4 }],
        });
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
