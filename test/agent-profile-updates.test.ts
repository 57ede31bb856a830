/**
 * Profile updates end to end (docs/profile.md#profile-updates), with tandemd's machine tunnel in
 * network namespaces: the lab gateway's success document offers a user and a management
 * profile, the agent installs both after the tunnel is up and uses them at its next start
 * (the running machine tunnel keeps the profile it started with); an invalid profile, a wrong
 * hash and a local policy that does not authorise the server leave the installed files as they
 * were; a hostile URI writes nothing outside the profile directory. ocserv's `user-profile`
 * offer is installed the same way.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, standardLab, titled, writePem, type Lab } from '@tandem/testkit';
import { NetnsLab } from './lib/netns.js';
import { startOcserv, type Ocserv } from './fixtures/ocserv.js';
import { GatewayProc } from './fixtures/lab-gateway/harness.js';
import {
  agentArgs,
  agentStarted,
  ensureAgentBuilt,
  runClient,
  scratch,
  TANDEMD,
  type AgentProcess,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { mgmtProfile, userProfile } from './fixtures/agent/lab-profiles.js';

const skip = missing('netns', 'ocserv');

const PROFILE = (name: string, address: string, group = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">
  <ServerList><HostEntry><HostName>${name}</HostName><HostAddress>${address}</HostAddress>${group ? `<UserGroup>${group}</UserGroup>` : ''}</HostEntry></ServerList>
</AnyConnectProfile>
`;
/** The management profile the gateway offers: same gateway, reached through the group URL `/mgmt`. */
const MGMT_V2 = mgmtProfile('vpn.lab.test:8443').replace(
  '<HostAddress>vpn.lab.test:8443</HostAddress>',
  '<HostAddress>vpn.lab.test:8443</HostAddress><UserGroup>mgmt</UserGroup>',
);
const USER_V2 = PROFILE('Lab updated', 'vpn.lab.test:8443');

type Status = { machine: { status: { state: string; gateway?: string } } };

describe.skipIf(skip !== null)(
  titled('tandemd installs the profiles a gateway offers (netns, lab gateway + ocserv)', skip),
  () => {
    const lab = new NetnsLab('tpu', [242, 9]);
    let pki: Lab;
    let ocserv: Ocserv;
    let server: { cert: string; key: string };
    const served: Record<string, string> = {};

    beforeAll(async () => {
      ensureAgentBuilt();
      await lab.create();
      pki = await standardLab('tpu');
      server = writePem(pki.dir, 'gw-server', pki.server, [pki.intermediate]);
      for (const [name, text] of Object.entries({
        'user-v2.xml': USER_V2,
        'mgmt-v2.xml': MGMT_V2,
        'broken.xml': '<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ServerList>',
        'ocserv-user.xml': PROFILE('Lab from ocserv', 'vpn.lab.test'),
      })) {
        served[name] = join(pki.dir, name);
        writeFileSync(served[name], text, { mode: 0o644 });
      }
      ocserv = await startOcserv(lab, pki, {
        pool: '10.242.110.0/24',
        device: 'tpuv',
        extra: [`user-profile = ${served['ocserv-user.xml']}`],
      });
    }, 90_000);

    afterAll(async () => {
      await ocserv?.stop();
      await lab.destroy();
    });

    /** The agent's tree: the management profile (for `mgmtAddress`), user.xml for the lab gateway, the machine store. */
    function tree(mgmtAddress = 'vpn.lab.test:8443', localPolicy?: string): Scratch {
      const s = scratch();
      writeFileSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), mgmtProfile(mgmtAddress), { mode: 0o644 });
      writeFileSync(join(s.profiles, 'user.xml'), userProfile(), { mode: 0o644 });
      writeFileSync(join(s.machine, 'machine.crt'), pki.machine.certPem + pki.intermediate.certPem, { mode: 0o644 });
      writeFileSync(join(s.machine, 'machine.key'), pki.machine.keyPem, { mode: 0o600 });
      if (localPolicy) writeFileSync(join(s.dir, 'AnyConnectLocalPolicy.xml'), localPolicy, { mode: 0o644 });
      return s;
    }

    async function gateway(extra: string[]): Promise<GatewayProc> {
      return GatewayProc.start(
        [
          ...['--cert', server.cert, '--key', server.key, '--ca', pki.caFile],
          '--pool',
          '10.242.120.0/24',
          '--echo',
          ...extra,
        ],
        { netns: lab.srv, listen: `${lab.srvAddr}:8443` },
      );
    }

    async function status(s: Scratch): Promise<Status | null> {
      const r = await runClient(s.socket, { calls: [['status', {}]] }).catch(() => null);
      return r?.results[0]?.ok ? (r.results[0].result as Status) : null;
    }

    /** Runs tandemd until its machine tunnel is up and `outcomes` profile-update lines were logged, then `fn`; stops it. */
    async function withAgent(s: Scratch, outcomes: number, fn: (a: AgentProcess) => Promise<void>): Promise<void> {
      const child = lab.spawn(lab.cli, process.execPath, [
        TANDEMD,
        ...agentArgs(s),
        ...['--gateway-ca', pki.caFile, '--resolve', `vpn.lab.test:${lab.srvAddr}`],
        ...['--local-policy', join(s.dir, 'AnyConnectLocalPolicy.xml')],
      ]);
      const agent = await agentStarted(child, s.socket);
      try {
        for (const end = Date.now() + 30_000; (await status(s))?.machine.status.state !== 'connected';) {
          if (Date.now() > end) throw new Error(`machine tunnel not up:\n${agent.stderr().slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const count = () => agent.stderr().match(/profile update (installed|refused|failed)/g)?.length ?? 0;
        for (const end = Date.now() + 15_000; count() < outcomes && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 50));
        expect(count(), agent.stderr().slice(-3000)).toBe(outcomes);
        await fn(agent);
      } finally {
        child.kill('SIGTERM');
        await agent.exited;
      }
    }

    const bytes = (path: string) => readFileSync(path, 'utf8');
    /** Every file below the scratch tree's profile directory, relative to it. */
    const listing = (s: Scratch): string[] => readdirSync(s.profiles, { recursive: true, encoding: 'utf8' }).sort();

    it('installs the offered user and management profiles after connecting; the next start uses them', async () => {
      const gw = await gateway(['--profile', served['user-v2.xml']!, '--mgmt-profile', served['mgmt-v2.xml']!]);
      const s = tree();
      try {
        await withAgent(s, 2, async (agent) => {
          expect(agent.stderr()).toMatch(/profile update installed.*"kind":"user"/);
          expect(agent.stderr()).toMatch(/profile update installed.*"kind":"management"/);
          // Not hot-swapped: the running machine tunnel still came from the old profile.
          expect((await status(s))?.machine.status.gateway).toBe('https://vpn.lab.test:8443');
        });
        const user = join(s.profiles, 'user.xml');
        const mgmt = join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml');
        expect(bytes(user)).toBe(USER_V2);
        expect(bytes(mgmt)).toBe(MGMT_V2);
        for (const f of [user, mgmt]) expect([statSync(f).uid, statSync(f).mode & 0o777]).toEqual([0, 0o644]);
        expect(listing(s)).toEqual(['mgmttun', 'mgmttun/VpnMgmtTunProfile.xml', 'user.xml']);
        const downloads = gw.events.filter((e) => e.event === 'profile-served').length;
        expect(downloads).toBe(2);

        // Next start: the new management profile drives the machine tunnel, the new user host is listed,
        // and nothing is downloaded again (the installed files have the offered hashes).
        await withAgent(s, 0, async () => {
          expect((await status(s))?.machine.status.gateway).toBe('https://vpn.lab.test:8443/mgmt');
          const hosts = await runClient(s.socket, { calls: [['hosts', {}]] });
          const names = (hosts.results[0]?.result as { hosts: Array<{ name: string }> }).hosts.map((h) => h.name);
          expect(names).toEqual(['Lab updated']);
        });
        expect(gw.events.filter((e) => e.event === 'profile-served').length).toBe(downloads);
      } finally {
        await gw.stop();
        s.cleanup();
      }
    }, 90_000);

    it('an invalid profile and a wrong hash are refused; the installed files stay as they were', async () => {
      for (const [args, pattern] of [
        [['--profile', served['broken.xml']!], /profile update refused.*not a valid profile/],
        [
          ['--profile', served['user-v2.xml']!, '--profile-sha1', 'ab'.repeat(20)],
          /profile update failed.*does not match the manifest SHA-1/,
        ],
      ] as const) {
        const gw = await gateway([...args]);
        const s = tree();
        const before = bytes(join(s.profiles, 'user.xml'));
        try {
          await withAgent(s, 1, async (agent) => expect(agent.stderr()).toMatch(pattern));
          expect(bytes(join(s.profiles, 'user.xml'))).toBe(before);
          expect(listing(s)).toEqual(['mgmttun', 'mgmttun/VpnMgmtTunProfile.xml', 'user.xml']);
        } finally {
          await gw.stop();
          s.cleanup();
        }
      }
    }, 90_000);

    it("the local policy's UpdatePolicy refuses a server it does not authorise, before any download", async () => {
      const gw = await gateway(['--profile', served['user-v2.xml']!, '--mgmt-profile', served['mgmt-v2.xml']!]);
      const policy = `<?xml version="1.0" encoding="UTF-8"?>
<AnyConnectLocalPolicy xmlns="http://schemas.xmlsoap.org/encoding/"><UpdatePolicy>
  <AllowVPNProfileUpdatesFromAnyServer>false</AllowVPNProfileUpdatesFromAnyServer>
  <AllowManagementVPNProfileUpdatesFromAnyServer>false</AllowManagementVPNProfileUpdatesFromAnyServer>
  <AuthorizedServerList><ServerName>other.lab.test</ServerName></AuthorizedServerList>
</UpdatePolicy></AnyConnectLocalPolicy>
`;
      const s = tree('vpn.lab.test:8443', policy);
      const mgmtBefore = bytes(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'));
      const userBefore = bytes(join(s.profiles, 'user.xml'));
      try {
        await withAgent(s, 2, async (agent) => {
          expect(agent.stderr()).toMatch(/profile update refused.*AllowVPNProfileUpdatesFromAnyServer is false/);
          expect(agent.stderr()).toMatch(
            /profile update refused.*AllowManagementVPNProfileUpdatesFromAnyServer is false/,
          );
        });
        expect(gw.events.filter((e) => e.event === 'profile-served')).toEqual([]);
        expect(bytes(join(s.profiles, 'user.xml'))).toBe(userBefore);
        expect(bytes(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'))).toBe(mgmtBefore);
      } finally {
        await gw.stop();
        s.cleanup();
      }
    }, 60_000);

    it('a hostile URI in the manifest cannot write outside the profile directory', async () => {
      const evil = '/tmp/tandem-evil-profile.xml';
      const gw = await gateway([
        ...['--profile', served['user-v2.xml']!],
        ...['--profile-uri', `/CACHE/stc/profiles/../../../../../../..${evil}`],
      ]);
      const s = tree();
      try {
        await withAgent(s, 1, async (agent) => expect(agent.stderr()).toMatch(/profile update installed/));
        expect(bytes(join(s.profiles, 'user.xml'))).toBe(USER_V2);
        expect(existsSync(evil)).toBe(false);
        const everything = readdirSync(s.dir, { recursive: true, encoding: 'utf8' });
        expect(everything.filter((f) => /evil/.test(f))).toEqual([]);
        expect(listing(s)).toEqual(['mgmttun', 'mgmttun/VpnMgmtTunProfile.xml', 'user.xml']);
      } finally {
        await gw.stop();
        s.cleanup();
      }
    }, 60_000);

    it("ocserv's user-profile: installed as the gateway's own file, listed at the next start", async () => {
      const s = tree('vpn.lab.test');
      try {
        await withAgent(s, 1, async (agent) =>
          expect(agent.stderr()).toMatch(/profile update installed.*"kind":"user"/),
        );
        const file = join(s.profiles, 'gateway-vpn.lab.test.xml');
        expect(relative(s.profiles, file)).toBe('gateway-vpn.lab.test.xml');
        expect(bytes(file)).toBe(bytes(served['ocserv-user.xml']!));
        await withAgent(s, 0, async () => {
          const hosts = await runClient(s.socket, { calls: [['hosts', {}]] });
          const names = (hosts.results[0]?.result as { hosts: Array<{ name: string }> }).hosts.map((h) => h.name);
          expect(names.sort()).toEqual(['Lab MCA', 'Lab from ocserv']);
        });
      } finally {
        s.cleanup();
      }
    }, 90_000);
  },
);
