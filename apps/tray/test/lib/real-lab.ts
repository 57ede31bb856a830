/**
 * The real lab the tray is tested and photographed in (the template is test/agent-mca.test.ts
 * and test/agent-banner-choose.test.ts): network namespaces, ocserv for the machine tunnel
 * (certificate-only, the machine certificate), tandem-lab-gateway with MCA and a login banner
 * for the user tunnel, a /32 "behind the VPN" that both gateways route to, the testkit PKI with
 * two matching user certificates (alice, and bob who outlives her), root's tandemd in the
 * client namespace, and an unprivileged user (uid 65534) whose store holds both certificates.
 * The user profile sets AutomaticCertSelection false, so every connect shows the certificate
 * picker (and, not user-controllable, never remembers the choice).
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EKU, issue, KU, missing, standardLab, type Issued, type Lab } from '@tandem/testkit';
import { NetnsLab } from '../../../../test/lib/netns.js';
import { startOcserv, type Ocserv } from '../../../../test/fixtures/ocserv.js';
import { GatewayProc } from '../../../../test/fixtures/lab-gateway/harness.js';
import { mgmtProfile, userProfile } from '../../../../test/fixtures/agent/lab-profiles.js';
import {
  agentArgs,
  agentStarted,
  ensureAgentBuilt,
  runClient,
  scratch,
  TANDEMD,
  type AgentProcess,
  type Scratch,
} from '../../../../test/fixtures/agent/helpers.js';
import { ensureTrayBuilt, NOBODY, trayUser, type TrayUser } from './real-tray.js';
import { chromiumMissing } from './window-harness.js';

/** Why the real lab cannot run here (root, namespaces, ocserv, ping, setpriv, Chromium), or null. */
export const realLabMissing: string | null =
  [missing('netns', 'ocserv', 'ping', 'setpriv'), chromiumMissing].filter(Boolean).join('; ') || null;

/** The lab gateway's login banner. */
export const BANNER = 'Tandem lab: authorised use only. Activity on this network is logged.';
/** The user profile's host (the one the window's picker shows). */
export const USER_HOST = 'Lab MCA';

/** The agent's status as the tests read it. */
export interface LabStatus {
  machine: { status: { state: string } };
  user: { ownerUid?: number; status: { state: string; cause?: { code: string } } };
}

/** See the module comment. One per test file (or screenshot run): names and subnets are unique per process. */
export class TrayLab {
  /** 20..219, from the pid: another checkout may run the same suite at the same time. */
  readonly n = 20 + (process.pid % 200);
  readonly lab = new NetnsLab(`ttr${this.n}`, [244, this.n]);
  /** The address behind both gateways (on the server namespace's `lo`). */
  readonly behind = `10.245.${this.n}.1`;
  pki!: Lab;
  /** The second user certificate (alice's is `pki.user`). */
  bob!: Issued;
  ocserv!: Ocserv;
  gateway!: GatewayProc;
  scratch!: Scratch;
  agent!: AgentProcess;
  user!: TrayUser;

  /** Builds the lab and starts the agent; resolves once the machine tunnel is up. */
  async start(): Promise<void> {
    ensureAgentBuilt();
    ensureTrayBuilt();
    const { lab, n } = this;
    await lab.create();
    await lab.exec(lab.srv, 'ip', ['addr', 'add', `${this.behind}/32`, 'dev', 'lo']);
    this.pki = await standardLab(`ttr${n}`);
    const pki = this.pki;
    this.bob = await issue(
      {
        subject: 'CN=bob, OU=users, O=Tandem Lab',
        keyUsage: KU.digitalSignature,
        eku: [EKU.clientAuth],
        notAfter: new Date(Date.now() + 400 * 86_400_000),
      },
      pki.intermediate,
    );
    const routes = [`10.245.${n}.0/24`];
    this.ocserv = await startOcserv(lab, pki, {
      pool: `10.246.${n}.0/24`,
      device: `ttrv${n}`,
      routes,
      dpd: 10,
      keepalive: 10,
    });
    const server = join(pki.dir, 'gw-server.pem');
    writeFileSync(server, pki.server.certPem + pki.intermediate.certPem);
    const serverKey = join(pki.dir, 'gw-server.key');
    writeFileSync(serverKey, pki.server.keyPem, { mode: 0o600 });
    this.gateway = await GatewayProc.start(
      [
        ...['--cert', server, '--key', serverKey, '--ca', pki.caFile, '--mca', '--username-from', 'second'],
        ...['--pool', `10.247.${n}.0/24`, '--split-include', routes[0]!, '--tun', `ttrg${n}`, '--dpd', '10'],
        ...['--banner', BANNER],
      ],
      { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
    );
    const s = (this.scratch = scratch());
    writeFileSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), mgmtProfile(), { mode: 0o644 });
    writeFileSync(join(s.profiles, 'user.xml'), userProfile({ picker: true, match: true }), { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
    writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
    chmodSync(s.dir, 0o755);
    const chain = pki.intermediate.certPem;
    this.user = trayUser(NOBODY, {
      'alice.pem': pki.user.certPem + chain + pki.user.keyPem,
      'bob.pem': this.bob.certPem + chain + this.bob.keyPem,
    });
    this.agent = await this.startAgent();
    await this.waitFor((st) => st.machine.status.state === 'connected', 'the machine tunnel');
  }

  /** tandemd in the client namespace (the gateways are reachable only from there). */
  private async startAgent(): Promise<AgentProcess> {
    const { lab, scratch: s } = this;
    const args = ['--gateway-ca', this.pki.caFile, '--resolve', `vpn.lab.test:${lab.srvAddr}`];
    return agentStarted(lab.spawn(lab.cli, process.execPath, [TANDEMD, ...agentArgs(s), ...args]), s.socket);
  }

  /** One call as root (the administrator), e.g. `machineTunnel.disable`. */
  async admin(method: string, params: unknown = {}): Promise<unknown> {
    const r = await runClient(this.scratch.socket, { calls: [[method, params]] });
    const first = r.results[0];
    if (!first?.ok) throw new Error(`${method}: ${JSON.stringify(first ?? r.fatal)}`);
    return first.result;
  }

  /** The agent's status, as root sees it. */
  status(): Promise<LabStatus> {
    return this.admin('status') as Promise<LabStatus>;
  }

  /** Polls the agent's status until `pred` holds. */
  async waitFor(pred: (st: LabStatus) => boolean, what: string, ms = 30_000): Promise<LabStatus> {
    const end = Date.now() + ms;
    for (;;) {
      const st = await this.status().catch(() => null);
      if (st && pred(st)) return st;
      if (Date.now() > end)
        throw new Error(`${what} not reached: ${JSON.stringify(st)}\n${this.agent?.stderr().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Pings the address behind the gateways from the client namespace (through whichever tunnel is up). */
  ping(count = 1, size = 56): Promise<string> {
    return this.lab.exec(this.lab.cli, 'ping', [
      '-n',
      '-c',
      String(count),
      '-i',
      '0.2',
      '-s',
      String(size),
      '-W',
      '2',
      this.behind,
    ]);
  }

  /** Stops everything it started and removes its files (safe after a partial start). */
  async stop(): Promise<void> {
    if (this.agent) {
      this.agent.child.kill('SIGTERM');
      await Promise.race([this.agent.exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    await this.gateway?.stop();
    await this.ocserv?.stop();
    await this.lab.destroy();
    this.scratch?.cleanup();
    this.user?.cleanup();
    if (this.pki) rmSync(this.pki.dir, { recursive: true, force: true });
  }
}
