/**
 * The login banner and the certificate choice (API 1.5) with real processes in network
 * namespaces: tandemd, tandem-lab-gateway with `--banner` and MCA, and a user's client that
 * answers the agent's reverse requests (the fixture client, or the real `tandem connect`).
 * Banner: Accept → the tunnel comes up; Decline, or a client without a prompt handler →
 * E_BANNER_DECLINED and the gateway never saw CONNECT; the machine tunnel has no user and
 * comes up anyway. Certificate: with two matching user certificates the agent asks
 * `certs.choose` and the gateway's session names the chosen one; Cancel → E_CERT_NOT_FOUND; a
 * client without the handler gets the automatic choice.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EKU, issue, KU, standardLab, type Issued, type Lab, missing, titled } from '@tandem/testkit';
import { NetnsLab } from './lib/netns.js';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import {
  agentArgs,
  agentStarted,
  ensureAgentBuilt,
  runClient,
  scratch,
  TANDEMD,
  type AgentProcess,
  type ClientPlan,
  type ClientRun,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { buildCli } from './fixtures/anyconnect/cli.js';
import { mgmtProfile, userProfile } from './fixtures/agent/lab-profiles.js';

const USER = userProfile({ picker: true });

const run = promisify(execFile);
const skip = missing('netns');
const CLI = join(import.meta.dirname, '..', 'apps/cli/bin/tandem.js');
const BANNER = 'Tandem lab: authorised use only';
// Unique per run: another checkout may run the same suite at the same time.
const N = 20 + (process.pid % 200);

type UserState = { status: { state: string; cause?: { code: string; message: string } } };
type Status = { machine: UserState; user: UserState };

/** What `certs.list` offers for an issued certificate: its DER and the intermediate. */
function offer(c: Issued, intermediate: Issued) {
  const x = new X509Certificate(c.certPem);
  const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
  return {
    sha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    keyType: 'ec',
    store: 'file',
    der: der(c.certPem),
    chain: [der(intermediate.certPem)],
  };
}

describe.skipIf(skip !== null)(
  titled('tandemd: login banner and certificate choice (netns, lab gateway)', skip),
  () => {
    const lab = new NetnsLab(`tbc${N}`, [241, N]);
    let pki: Lab;
    let bob: Issued;
    let gw: GatewayProc;
    let s: Scratch;
    let agent: AgentProcess;
    let alice: ReturnType<typeof offer>;
    let bobOffer: ReturnType<typeof offer>;
    let keys: Record<string, string>;

    beforeAll(async () => {
      ensureAgentBuilt();
      buildCli();
      await lab.create();
      pki = await standardLab(`tbc${N}`);
      // bob's certificate outlives alice's: the automatic choice (longest validity) is bob.
      bob = await issue(
        {
          subject: 'CN=bob, OU=users, O=Tandem Lab',
          keyUsage: KU.digitalSignature,
          eku: [EKU.clientAuth],
          notAfter: new Date(Date.now() + 400 * 86_400_000),
        },
        pki.intermediate,
      );
      alice = offer(pki.user, pki.intermediate);
      bobOffer = offer(bob, pki.intermediate);
      keys = { [alice.sha256]: pki.user.keyPem, [bobOffer.sha256]: bob.keyPem };
      const server = join(pki.dir, 'gw-server.pem');
      writeFileSync(server, pki.server.certPem + pki.intermediate.certPem);
      const serverKey = join(pki.dir, 'gw-server.key');
      writeFileSync(serverKey, pki.server.keyPem, { mode: 0o600 });
      gw = await GatewayProc.start(
        [
          ...['--cert', server, '--key', serverKey, '--ca', pki.caFile, '--mca', '--username-from', 'second'],
          ...['--pool', `10.${241}.${N + 1}.0/24`, '--banner', BANNER],
        ],
        { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
      );
      s = scratch();
      writeFileSync(join(s.profiles, 'user.xml'), USER, { mode: 0o644 });
      writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
      writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      chmodSync(s.dir, 0o755);
      agent = await agentInLab(s);
    }, 120_000);

    /** tandemd in the client namespace (the gateway is reachable only from there). */
    async function agentInLab(dir: Scratch): Promise<AgentProcess> {
      const args = ['--gateway-ca', pki.caFile, '--resolve', `vpn.lab.test:${lab.srvAddr}`];
      return agentStarted(lab.spawn(lab.cli, process.execPath, [TANDEMD, ...agentArgs(dir), ...args]), dir.socket);
    }

    afterAll(async () => {
      agent?.child.kill('SIGTERM');
      if (agent) await agent.exited;
      await gw?.stop();
      await lab.destroy();
      s?.cleanup();
    });

    async function status(): Promise<Status> {
      const r = await runClient(s.socket, { calls: [['status', {}]] });
      return r.results[0]!.result as Status;
    }

    /** One connect attempt by a client following `plan`; returns its run and the user tunnel after it. */
    async function attempt(plan: Omit<ClientPlan, 'calls'>): Promise<{ client: ClientRun; user: UserState }> {
      const client = await runClient(s.socket, {
        calls: [['connect', { host: 'Lab MCA' }]],
        watch: ['state'],
        untilUserSettles: true,
        ...plan,
      });
      expect(client.results.find((r) => r.method === 'connect')?.ok, JSON.stringify(client)).toBe(true);
      return { client, user: (await status()).user };
    }

    async function disconnect(): Promise<void> {
      await runClient(s.socket, { calls: [['disconnect', {}]] });
    }

    const tunnelsUp = () => gw.events.filter((e) => e.event === 'tunnel-up' || e.event === 'tunnel-refused').length;
    const sessions = () => gw.events.filter((e) => e.event === 'session');

    it('banner accepted: the client is asked with kind banner and the gateway text, and the tunnel comes up', async () => {
      const { client, user } = await attempt({
        signer: { certificates: [alice], keys },
        prompt: { banner: 'accept' },
      });
      expect(user.status.state, agent.stderr().slice(-3000)).toBe('connected');
      const asked = client.reverse.filter((r) => r.request === 'prompt');
      expect(asked).toEqual([
        { request: 'prompt', params: { kind: 'banner', title: 'VPN login banner', message: BANNER } },
      ]);
      expect(sessions().at(-1)).toMatchObject({ username: 'alice' });
      await disconnect();
    }, 60_000);

    it('banner declined, or a client without a prompt handler: E_BANNER_DECLINED, and the gateway saw no CONNECT', async () => {
      for (const prompt of [{ banner: 'decline' as const }, undefined]) {
        const before = { tunnels: tunnelsUp(), sessions: sessions().length };
        const { user } = await attempt({ signer: { certificates: [alice], keys }, ...(prompt ? { prompt } : {}) });
        expect(user.status.state).toBe('error');
        expect(user.status.cause).toMatchObject({ code: 'E_BANNER_DECLINED' });
        // Authenticated (the session exists), but never opened.
        expect(sessions().length).toBe(before.sessions + 1);
        await new Promise((r) => setTimeout(r, 300));
        expect(tunnelsUp()).toBe(before.tunnels);
      }
    }, 60_000);

    it('two matching user certificates: certs.choose lists both (remember per the profile); the gateway sees the chosen one', async () => {
      const { client, user } = await attempt({
        signer: { certificates: [alice, bobOffer], keys },
        prompt: { banner: 'accept' },
        choose: { cancelled: false, sha256: alice.sha256 },
      });
      expect(user.status.state, agent.stderr().slice(-3000)).toBe('connected');
      const choose = client.reverse.find((r) => r.request === 'certs.choose')?.params as {
        candidates: Array<{ sha256: string; accepted: boolean; store: string; subject: string }>;
        remember: boolean;
      };
      // AutomaticCertSelection is not user-controllable in this profile: the choice is not to be remembered.
      expect(choose.remember).toBe(false);
      expect(choose.candidates.map((c) => [c.sha256, c.accepted, c.store])).toEqual([
        [alice.sha256, true, 'file'],
        [bobOffer.sha256, true, 'file'],
      ]);
      expect(sessions().at(-1)).toMatchObject({ username: 'alice' });
      expect(String(sessions().at(-1)!['user'])).toContain('CN=alice');
      await disconnect();
    }, 60_000);

    it('certs.choose cancelled: E_CERT_NOT_FOUND; a client without the handler gets the automatic choice (bob)', async () => {
      const cancelled = await attempt({
        signer: { certificates: [alice, bobOffer], keys },
        prompt: { banner: 'accept' },
        choose: { cancelled: true },
      });
      expect(cancelled.user.status.state).toBe('error');
      expect(cancelled.user.status.cause).toMatchObject({ code: 'E_CERT_NOT_FOUND' });

      const old = await attempt({ signer: { certificates: [alice, bobOffer], keys }, prompt: { banner: 'accept' } });
      expect(old.user.status.state, agent.stderr().slice(-3000)).toBe('connected');
      expect(sessions().at(-1)).toMatchObject({ username: 'bob' });
      expect(await agent.logged('does not choose certificates; choosing automatically')).toContain(
        'does not choose certificates; choosing automatically',
      );
      await disconnect();
    }, 60_000);

    it('the real tandem connect: --json without --accept-banner declines; --accept-banner --cert picks the certificate', async () => {
      const store = join(s.dir, 'cli-store');
      mkdirSync(store, { mode: 0o700 });
      writeFileSync(join(store, 'alice.pem'), pki.user.certPem + pki.intermediate.certPem + pki.user.keyPem, {
        mode: 0o600,
      });
      writeFileSync(join(store, 'bob.pem'), bob.certPem + pki.intermediate.certPem + bob.keyPem, { mode: 0o600 });
      const tandem = (args: string[]) =>
        run(process.execPath, [CLI, ...args, '--user-store', store, '--socket', s.socket], { timeout: 60_000 }).then(
          ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
          (e: { code: number; stdout: string; stderr: string }) => ({
            code: e.code,
            stdout: e.stdout,
            stderr: e.stderr,
          }),
        );
      const declined = await tandem(['connect', 'Lab MCA', '--json']);
      expect(declined.code, declined.stdout + declined.stderr).toBe(1);
      expect(JSON.parse(declined.stdout)).toMatchObject({ error: { code: 'E_BANNER_DECLINED' } });

      const chosen = await tandem(['connect', 'Lab MCA', '--accept-banner', '--cert', alice.sha256.toUpperCase()]);
      expect(chosen.code, chosen.stdout + chosen.stderr + agent.stderr().slice(-2000)).toBe(0);
      expect(chosen.stderr).toContain('accepting the login banner (--accept-banner)');
      expect(chosen.stderr).toContain(`using certificate ${alice.sha256.slice(0, 16)}`);
      expect(sessions().at(-1)).toMatchObject({ username: 'alice' });
      await disconnect();
    }, 90_000);

    it('the machine tunnel has no user: it comes up through a gateway with a banner, and the agent logs the banner', async () => {
      agent.child.kill('SIGTERM');
      await agent.exited;
      const mgmtGw = await GatewayProc.start(
        [
          ...['--cert', join(pki.dir, 'gw-server.pem'), '--key', join(pki.dir, 'gw-server.key'), '--ca', pki.caFile],
          ...['--pool', `10.${241}.${N + 2}.0/24`, '--banner', BANNER, '--tun', 'tbcm0'],
        ],
        { netns: lab.srv, listen: `${lab.srvAddr}:9443` },
      );
      const m = scratch();
      writeFileSync(join(m.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), mgmtProfile('vpn.lab.test:9443'), {
        mode: 0o644,
      });
      writeFileSync(join(m.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
      writeFileSync(join(m.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      const machineAgent = await agentInLab(m);
      try {
        let st: Status | null = null;
        for (let i = 0; i < 300 && st?.machine.status.state !== 'connected'; i++) {
          const r = await runClient(m.socket, { calls: [['status', {}]] }).catch(() => null);
          st = (r?.results[0]?.result as Status | undefined) ?? null;
          if (st?.machine.status.state !== 'connected') await new Promise((res) => setTimeout(res, 100));
        }
        expect(st?.machine.status.state, machineAgent.stderr().slice(-3000)).toBe('connected');
        await mgmtGw.waitFor((e) => e.event === 'tunnel-up', 5000);
        expect(machineAgent.stderr()).toContain('login banner (machine tunnel: accepted without a user)');
        expect(machineAgent.stderr()).toContain(BANNER);
      } finally {
        machineAgent.child.kill('SIGTERM');
        await machineAgent.exited;
        await mgmtGw.stop();
        m.cleanup();
      }
    }, 90_000);
  },
);
