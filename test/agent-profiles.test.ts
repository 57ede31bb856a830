/**
 * Profile loading in agent mode (docs/profile.md#reading-rules): bad ownership, world-writable
 * files, symlinks and an unsafe directory are refused and logged; a file that turns bad keeps
 * its last good version; a removed file is dropped; the management profile is found in
 * mgmttun/; the running tandemd reloads on SIGHUP. Secure Client's directory is read after
 * Tandem's (its hosts listed by `tandem hosts`, Tandem's files winning a conflict), and its
 * absence is normal.
 */
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, RingSink } from '@tandem/common';
import { ProfileStore } from '../apps/agent/src/profiles.js';
import { isRoot, missing, titled } from '@tandem/testkit';
import {
  ensureAgentBuilt,
  ROOT,
  runClient,
  scratch,
  startAgent,
  until,
  type Scratch,
} from './fixtures/agent/helpers.js';
import { ensureCliBuilt, runCli } from './fixtures/cli/fake-agent.js';

const SECOND = 'test/fixtures/agent/second.xml';
const USER = 'profiles/user-mca.xml';

describe.skipIf(!isRoot)(titled('profile store (agent mode)', missing('root')), () => {
  let s: Scratch;
  const ring = new RingSink();
  const log = createLogger({ level: 'debug', sinks: [ring.sink] });
  const messages = () =>
    ring
      .records()
      .map((r) => `${r.msg} ${JSON.stringify(r.fields ?? {})}`)
      .join('\n');
  beforeAll(() => {
    s = scratch({ 'a.xml': USER, 'b.xml': SECOND });
  });
  afterAll(() => s?.cleanup());

  it('loads, keeps the last good version of a file that turns unsafe, refuses symlinks, drops removed files', async () => {
    const store = new ProfileStore([s.profiles], log);
    let set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)', 'Second Site']);
    expect(set.machine).toBeNull();

    chmodSync(join(s.profiles, 'b.xml'), 0o666);
    set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)', 'Second Site']);
    expect(set.files).toContainEqual({
      file: 'b.xml',
      dir: s.profiles,
      status: 'kept-last-good',
      reason: 'is not owned by root or is writable by group/others',
    });
    expect(messages()).toMatch(/profile refused; keeping its last good version .*b\.xml/);

    unlinkSync(join(s.profiles, 'b.xml'));
    symlinkSync(join(ROOT, SECOND), join(s.profiles, 'c-link.xml'));
    set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)']);
    expect(set.files).toContainEqual({
      file: 'c-link.xml',
      dir: s.profiles,
      status: 'refused',
      reason: 'is a symbolic link (refused in agent mode)',
    });
    unlinkSync(join(s.profiles, 'c-link.xml'));

    copyFileSync(
      join(ROOT, 'profiles/mgmttun/VpnMgmtTunProfile.xml'),
      join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'),
    );
    chmodSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), 0o644);
    set = await store.load();
    expect(set.machine?.managementTunnel).toBe(true);
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)']);

    chmodSync(s.profiles, 0o777);
    const kept = await store.load();
    chmodSync(s.profiles, 0o755);
    expect(kept.machine).toBe(set.machine);
    expect(kept.merged.hosts).toEqual(set.merged.hosts);
    expect(kept.files).toEqual(set.files);
    expect(messages()).toMatch(/profile directory refused; keeping the last good profiles/);
  });
});

describe.skipIf(!isRoot)(
  titled('profile store: Tandem directory, then Secure Client directory', missing('root')),
  () => {
    let s: Scratch;
    const ring = new RingSink();
    const log = createLogger({ level: 'debug', sinks: [ring.sink] });
    const errors = () =>
      ring
        .records()
        .filter((r) => r.level === 'error' || r.level === 'warn')
        .map((r) => `${r.msg} ${JSON.stringify(r.fields ?? {})}`);
    const put = (dir: string, name: string, src: string) => {
      copyFileSync(join(ROOT, src), join(dir, name));
      chmodSync(join(dir, name), 0o644);
    };
    beforeAll(() => {
      s = scratch({ 'a.xml': USER });
    });
    afterAll(() => s?.cleanup());

    it('a missing Secure Client directory is normal: nothing refused, nothing warned', async () => {
      const set = await new ProfileStore([s.profiles, s.cisco], log).load();
      expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)']);
      expect(errors()).toEqual([]);
    });

    it('merges both in order: union of hosts, Tandem wins a duplicate host and the management profile', async () => {
      mkdirSync(join(s.cisco, 'mgmttun'), { recursive: true, mode: 0o755 });
      chmodSync(s.cisco, 0o755);
      put(s.cisco, 'corp.xml', SECOND);
      // The same host name as Tandem's a.xml, with another address: discarded (first wins).
      put(s.cisco, 'dup.xml', USER);
      put(join(s.cisco, 'mgmttun'), 'VpnMgmtTunProfile.xml', 'test/fixtures/agent/mgmt-canary.xml');
      const store = new ProfileStore([s.profiles, s.cisco], log);
      let set = await store.load();
      expect(set.merged.hosts.map((h) => [h.hostName, h.profileFile])).toEqual([
        ['Example VPN (MCA)', join(s.profiles, 'a.xml')],
        ['Second Site', join(s.cisco, 'corp.xml')],
      ]);
      expect(set.files.map((f) => [f.dir, f.file, f.status])).toEqual([
        [s.profiles, 'a.xml', 'loaded'],
        [s.cisco, 'corp.xml', 'loaded'],
        [s.cisco, 'dup.xml', 'loaded'],
        [join(s.cisco, 'mgmttun'), 'VpnMgmtTunProfile.xml', 'loaded'],
      ]);
      // Only Cisco has a management profile: it is the machine tunnel's.
      expect(set.machine?.serverList[0]?.hostAddress).toBe('mgmt.lab.test');

      put(join(s.profiles, 'mgmttun'), 'VpnMgmtTunProfile.xml', 'profiles/mgmttun/VpnMgmtTunProfile.xml');
      set = await store.load();
      expect(set.machine?.serverList[0]?.hostAddress).not.toBe('mgmt.lab.test');
      expect(errors().join('\n')).toMatch(/management tunnel profile not used: one earlier in the search order wins/);
      rmSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'));

      // A Cisco directory that turns writable by others is refused; its profiles in force stay, Tandem's reload.
      chmodSync(s.cisco, 0o777);
      set = await store.load();
      chmodSync(s.cisco, 0o755);
      expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)', 'Second Site']);
      expect(set.machine?.serverList[0]?.hostAddress).toBe('mgmt.lab.test');
      expect(errors().join('\n')).toMatch(
        new RegExp(`profile directory refused; keeping the last good profiles .*${s.cisco}`),
      );
    });
  },
);

describe.skipIf(!isRoot)(titled('tandemd lists Secure Client profiles (tandem hosts)', missing('root')), () => {
  let s: Scratch;
  beforeAll(() => {
    ensureAgentBuilt();
    ensureCliBuilt();
    s = scratch();
    mkdirSync(s.cisco, { mode: 0o755 });
    chmodSync(s.cisco, 0o755);
    copyFileSync(join(ROOT, SECOND), join(s.cisco, 'corp.xml'));
    chmodSync(join(s.cisco, 'corp.xml'), 0o644);
  }, 120_000);
  afterAll(() => s?.cleanup());

  const hosts = async (extra: string[]) => {
    const agent = await startAgent(s, extra);
    try {
      return await runCli(['hosts', '--socket', s.socket]).done;
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
  };

  it('a profile found only in the Cisco-layout directory is listed; --no-cisco-profiles hides it', async () => {
    const listed = await hosts([]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\* Second Site +\S+ .*from corp\.xml/);
    const without = await hosts(['--no-cisco-profiles']);
    expect(without.code).toBe(0);
    expect(without.stdout).not.toContain('Second Site');
  });
});

describe.skipIf(!isRoot)(titled('tandemd reloads profiles on SIGHUP', missing('root')), () => {
  let s: Scratch;
  beforeAll(() => {
    ensureAgentBuilt();
    s = scratch({ 'a.xml': USER });
  }, 120_000);
  afterAll(() => s?.cleanup());

  it('a profile added later appears in hosts after SIGHUP', async () => {
    const agent = await startAgent(s);
    try {
      const hosts = async () =>
        (
          (await runClient(s.socket, { calls: [['hosts', {}]] })).results[0]!.result as {
            hosts: Array<{ name: string }>;
          }
        ).hosts.map((h) => h.name);
      expect(await hosts()).toEqual(['Example VPN (MCA)']);
      copyFileSync(join(ROOT, SECOND), join(s.profiles, 'b.xml'));
      chmodSync(join(s.profiles, 'b.xml'), 0o644);
      expect(await hosts()).toEqual(['Example VPN (MCA)']);
      agent.child.kill('SIGHUP');
      await until(
        () =>
          agent.stderr().includes('SIGHUP: reloading profiles') && agent.stderr().split('profiles loaded').length > 2,
      );
      expect(await hosts()).toEqual(['Example VPN (MCA)', 'Second Site']);
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      rmSync(join(s.profiles, 'b.xml'), { force: true });
    }
  });
});
