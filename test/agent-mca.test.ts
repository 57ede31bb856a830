/**
 * The whole mission in one scenario, with real processes in network namespaces: tandemd starts
 * the machine tunnel (certificate-only, ocserv) by itself; an UNPRIVILEGED user runs the real
 * `tandem connect`, which answers the agent's certs.list / certs.sign from the user's own store;
 * the agent tears the machine tunnel down and brings the user tunnel up with Multiple
 * Certificate Authentication against tandem-lab-gateway, whose session line names the user
 * from the second certificate; `tandem disconnect` brings the machine tunnel back.
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab } from './lib/netns.js';
import { EKU, issue, KU, type Lab, missing, titled } from '@tandem/testkit';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import { agentArgs, ensureAgentBuilt, runClient, scratch, TANDEMD, type Scratch } from './fixtures/agent/helpers.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { mgmtProfile, userProfile } from './fixtures/agent/lab-profiles.js';
import { NOBODY, startMcaLab, type McaLab } from './fixtures/agent/mca-lab.js';

const USER = userProfile({ match: true });

const run = promisify(execFile);
const skip = missing('netns', 'ocserv', 'ping');
const BEHIND = '10.238.50.1';
const CLI = join(import.meta.dirname, '..', 'apps/cli/bin/tandem.js');

type Status = { machine: { status: { state: string } }; user: { ownerUid?: number; status: { state: string } } };

describe.skipIf(skip !== null)(
  titled('tandemd: machine tunnel → unprivileged tandem connect with MCA → back (netns, ocserv + lab gateway)', skip),
  () => {
    const lab = new NetnsLab('tam', [238, 9]);
    let pki: Lab;
    let m: McaLab;
    let mcaGw: GatewayProc;
    let s: Scratch;
    let userStore: string;
    let baseline: string;

    beforeAll(async () => {
      ensureAgentBuilt();
      buildCli();
      await lab.create();
      await lab.exec(lab.srv, 'ip', ['addr', 'add', `${BEHIND}/32`, 'dev', 'lo']);
      m = await startMcaLab(lab, 'tam', {
        ocserv: { pool: '10.238.110.0/24', device: 'tamv', routes: ['10.238.50.0/24'], dpd: 10, keepalive: 10 },
        gatewayPool: '10.238.120.0/24',
        splitInclude: '10.238.50.0/24',
      });
      ({ pki, gateway: mcaGw, s, userStore } = m);
      await new Promise((r) => setTimeout(r, 300));
      baseline = await lab.snapshot();
    }, 90_000);

    afterAll(async () => {
      await m?.stop();
      await lab.destroy();
    });

    async function status(): Promise<Status> {
      const r = await runClient(s.socket, { calls: [['status', {}]] });
      if (!r.results[0]?.ok) throw new Error(JSON.stringify(r));
      return r.results[0].result as Status;
    }

    async function waitFor(
      pred: (st: Status) => boolean,
      what: string,
      agentErr: () => string,
      ms = 30_000,
    ): Promise<number> {
      const t0 = Date.now();
      for (;;) {
        const st = await status().catch(() => null);
        if (st && pred(st)) return Date.now() - t0;
        if (Date.now() - t0 > ms)
          throw new Error(`${what} not reached: ${JSON.stringify(st)}\n${agentErr().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    function tandemAsNobody(args: string[]): Promise<{ code: number; out: string }> {
      return tandemAsNobodyOn(s.socket, args);
    }

    function tandemAsNobodyOn(socket: string, args: string[]): Promise<{ code: number; out: string }> {
      return run(
        'ip',
        [
          'netns',
          'exec',
          lab.cli,
          'setpriv',
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          process.execPath,
          CLI,
          ...args,
          '--socket',
          socket,
        ],
        { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' } },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}` }),
      );
    }

    it('machine tunnel at start; MCA user tunnel for an unprivileged user names alice from the second certificate; machine tunnel back after disconnect', async () => {
      const agent = lab.spawn(lab.cli, process.execPath, [
        TANDEMD,
        ...agentArgs(s),
        '--gateway-ca',
        pki.caFile,
        '--resolve',
        `vpn.lab.test:${lab.srvAddr}`,
      ]);
      let err = '';
      agent.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      try {
        await waitFor(
          (st) => st.machine.status.state === 'connected',
          'machine tunnel',
          () => err,
        );
        await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
        // Watch every route change during both handovers: at no instant may two tunnel devices own routes.
        const monitor = lab.spawn(lab.cli, 'ip', ['-o', 'monitor', 'route']);
        let events = '';
        monitor.stdout!.on('data', (d: Buffer) => (events += d.toString()));
        const initial = (await lab.exec(lab.cli, 'ip', ['-o', 'route', 'show'])).split('\n');
        await new Promise((r) => setTimeout(r, 100));

        const connect = await tandemAsNobody(['connect', 'Lab MCA', '--user-store', userStore]);
        expect(connect.code, connect.out + err.slice(-3000)).toBe(0);
        const session = await mcaGw.waitFor((e) => e.event === 'session', 10_000);
        expect(session).toMatchObject({ username: 'alice', authMode: 'multiple-certificate' });
        expect(String(session['machine'])).toContain('machine.lab.test');
        const st = await status();
        expect(st.user.status.state).toBe('connected');
        expect(st.user.ownerUid).toBe(NOBODY);
        expect(st.machine.status.state).toBe('idle');
        await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
        // MCA and DTLS together: the lab gateway keys the MCA session's DTLS from its CONNECT.
        await mcaGw.waitFor((e) => e.event === 'dtls-connected', 10_000);
        let dtls = false;
        for (const end = Date.now() + 10_000; !dtls && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
          dtls = ((await status()).user.status as { dtls?: boolean }).dtls === true;
        }
        expect(dtls, 'status says DTLS carries the user tunnel').toBe(true);

        // Another unprivileged user may not touch admin switches.
        const admin = await tandemAsNobody(['machine-tunnel', 'disable']);
        expect(admin.code).toBe(1);
        expect(admin.out).toMatch(/permission denied/);

        const off = await tandemAsNobody(['disconnect']);
        expect(off.code, off.out).toBe(0);
        const backMs = await waitFor(
          (x) => x.machine.status.state === 'connected',
          'machine tunnel back',
          () => err,
        );
        await lab.exec(lab.cli, 'ping', ['-c1', '-W2', BEHIND]);
        await new Promise((r) => setTimeout(r, 200));
        monitor.kill('SIGKILL');
        const owners = new Map<string, number>();
        let maxOwners = 0;
        const apply = (line: string, sign: 1 | -1): void => {
          const dev = /dev (tandem\d+)/.exec(line)?.[1];
          if (!dev) return;
          owners.set(dev, (owners.get(dev) ?? 0) + sign);
          if ((owners.get(dev) ?? 0) <= 0) owners.delete(dev);
          maxOwners = Math.max(maxOwners, owners.size);
        };
        for (const l of initial) apply(l, 1);
        for (const l of events.split('\n')) apply(l.replace(/^Deleted /, ''), l.startsWith('Deleted ') ? -1 : 1);
        expect(events).toMatch(/Deleted .*dev tandem/);
        expect(maxOwners).toBe(1);
        const gaps = [...err.matchAll(/handover complete.*?"gapMs":(\d+)/g)].map((m) => Number(m[1]));
        expect(gaps.length).toBeGreaterThanOrEqual(2);
        process.stdout.write(
          `agent MCA scenario: handover gaps (ms without a tunnel) ${gaps.join(', ')}; machine tunnel back ${backMs} ms after tandem disconnect returned; at most ${maxOwners} tunnel device owned routes at any instant\n`,
        );
        expect(err).not.toMatch(/webvpn=[A-Za-z0-9]/);
      } finally {
        agent.kill('SIGTERM');
        await new Promise((r) => agent.once('exit', r));
      }
      expect(await lab.snapshot()).toBe(baseline);
    }, 150_000);

    it('a gateway URL an unprivileged user types gets no machine certificate; the profile host still gets MCA', async () => {
      // A second gateway the profiles do not name, with a certificate the agent trusts.
      const evil = await issue(
        {
          subject: 'CN=elsewhere.lab.test',
          keyUsage: KU.digitalSignature,
          eku: [EKU.serverAuth],
          san: [{ type: 'dns', value: 'elsewhere.lab.test' }],
        },
        pki.intermediate,
      );
      const cert = join(pki.dir, 'elsewhere.pem');
      const key = join(pki.dir, 'elsewhere.key');
      writeFileSync(cert, evil.certPem + pki.intermediate.certPem);
      writeFileSync(key, evil.keyPem, { mode: 0o600 });
      const elsewhere = await GatewayProc.start(
        ['--cert', cert, '--key', key, '--ca', pki.caFile, '--mca', '--pool', '10.238.130.0/24', '--echo'],
        { netns: lab.srv, listen: `${lab.srvAddr}:9443` },
      );
      const manual = scratch();
      writeFileSync(join(manual.profiles, 'user.xml'), USER, { mode: 0o644 });
      writeFileSync(join(manual.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, {
        mode: 0o644,
      });
      writeFileSync(join(manual.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      chmodSync(manual.dir, 0o755);
      const agent = lab.spawn(lab.cli, process.execPath, [
        TANDEMD,
        ...agentArgs(manual),
        '--gateway-ca',
        pki.caFile,
        '--resolve',
        `vpn.lab.test:${lab.srvAddr}`,
        '--resolve',
        `elsewhere.lab.test:${lab.srvAddr}`,
      ]);
      let err = '';
      agent.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const as = (args: string[]) => tandemAsNobodyOn(manual.socket, args);
      try {
        for (let i = 0; i < 100; i++) {
          const r = await runClient(manual.socket, { calls: [['status', {}]] }).catch(() => null);
          if (r?.results[0]?.ok) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        const typed = await as(['connect', 'https://elsewhere.lab.test:9443/', '--user-store', userStore]);
        expect(typed.code, typed.out).not.toBe(0);
        await new Promise((r) => setTimeout(r, 300));
        // The gateway never saw the machine's certificate: it asked for one and was refused it.
        const seen = JSON.stringify(elsewhere.events);
        expect(seen).not.toContain('machine.lab.test');
        expect(
          elsewhere.events.some((e) => e.event === 'auth-failed' && /no machine certificate/.test(String(e['reason']))),
        ).toBe(true);
        expect(err).toContain('no machine certificate for a gateway outside the profiles');
        // The host the administrator named still gets both certificates.
        const sessions = () => mcaGw.events.filter((e) => e.event === 'session');
        const before = sessions().length;
        const named = await as(['connect', 'Lab MCA', '--user-store', userStore]);
        expect(named.code, named.out + err.slice(-2000)).toBe(0);
        for (let i = 0; i < 100 && sessions().length === before; i++) await new Promise((r) => setTimeout(r, 100));
        expect(sessions()[before]).toMatchObject({ username: 'alice' });
        expect(String(sessions()[before]!['machine'])).toContain('machine.lab.test');
        expect((await as(['disconnect'])).code).toBe(0);
      } finally {
        agent.kill('SIGTERM');
        await new Promise((r) => agent.once('exit', r));
        await elsewhere.stop();
        manual.cleanup();
      }
      expect(await lab.snapshot()).toBe(baseline);
    }, 90_000);

    it('on a trusted network (TND: the DNS domain matches) the machine tunnel does not start', async () => {
      const trusted = scratch();
      writeFileSync(
        join(trusted.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'),
        mgmtProfile('vpn.lab.test', 'lab.test'),
        { mode: 0o644 },
      );
      writeFileSync(join(trusted.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, {
        mode: 0o644,
      });
      writeFileSync(join(trusted.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      const agent = lab.spawn(lab.cli, process.execPath, [
        TANDEMD,
        ...agentArgs(trusted),
        '--gateway-ca',
        pki.caFile,
        '--resolve',
        `vpn.lab.test:${lab.srvAddr}`,
      ]);
      try {
        let st: Status | null = null;
        for (let i = 0; i < 40 && !st; i++) {
          const r = await runClient(trusted.socket, { calls: [['status', {}]] }).catch(() => null);
          if (r?.results[0]?.ok) st = r.results[0].result as Status;
          else await new Promise((res) => setTimeout(res, 100));
        }
        // Give the supervisor time in which an untrusted network would have brought the tunnel up (~0.3 s above).
        await new Promise((res) => setTimeout(res, 3000));
        const r = await runClient(trusted.socket, { calls: [['status', {}]] });
        expect((r.results[0]!.result as Status).machine.status.state).toBe('idle');
        expect((await lab.exec(lab.cli, 'ip', ['-o', 'link', 'show'])).includes('tandem')).toBe(false);
      } finally {
        agent.kill('SIGTERM');
        await new Promise((res) => agent.once('exit', res));
        trusted.cleanup();
      }
    }, 60_000);
  },
);
