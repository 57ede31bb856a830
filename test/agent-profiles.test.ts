/**
 * Profile loading in agent mode (docs/profile.md#reading-rules): bad ownership, world-writable
 * files, symlinks and an unsafe directory are refused and logged; a file that turns bad keeps
 * its last good version; a removed file is dropped; the management profile is found in
 * mgmttun/; and the running tandemd reloads on SIGHUP.
 */
import { chmodSync, copyFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, RingSink } from '@tandem/common';
import { ProfileStore } from '../apps/agent/src/profiles.js';
import { isRoot, missing, titled } from './lib/skip.js';
import { ensureAgentBuilt, ROOT, runClient, scratch, startAgent, until, type Scratch } from './fixtures/agent/helpers.js';

const SECOND = 'test/fixtures/agent/second.xml';
const USER = 'profiles/user-mca.xml';

describe.skipIf(!isRoot)(titled('profile store (agent mode)', missing('root')), () => {
  let s: Scratch;
  const ring = new RingSink();
  const log = createLogger({ level: 'debug', sinks: [ring.sink] });
  const messages = () => ring.records().map((r) => `${r.msg} ${JSON.stringify(r.fields ?? {})}`).join('\n');
  beforeAll(() => {
    s = scratch({ 'a.xml': USER, 'b.xml': SECOND });
  });
  afterAll(() => s?.cleanup());

  it('loads, keeps the last good version of a file that turns unsafe, refuses symlinks, drops removed files', async () => {
    const store = new ProfileStore(s.profiles, log);
    let set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)', 'Second Site']);
    expect(set.machine).toBeNull();

    chmodSync(join(s.profiles, 'b.xml'), 0o666);
    set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)', 'Second Site']);
    expect(set.files).toContainEqual({ file: 'b.xml', status: 'kept-last-good', reason: 'is not owned by root or is writable by group/others' });
    expect(messages()).toMatch(/profile refused; keeping its last good version .*b\.xml/);

    unlinkSync(join(s.profiles, 'b.xml'));
    symlinkSync(join(ROOT, SECOND), join(s.profiles, 'c-link.xml'));
    set = await store.load();
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)']);
    expect(set.files).toContainEqual({ file: 'c-link.xml', status: 'refused', reason: 'is a symbolic link (refused in agent mode)' });
    unlinkSync(join(s.profiles, 'c-link.xml'));

    copyFileSync(join(ROOT, 'profiles/mgmttun/VpnMgmtTunProfile.xml'), join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'));
    chmodSync(join(s.profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'), 0o644);
    set = await store.load();
    expect(set.machine?.managementTunnel).toBe(true);
    expect(set.merged.hosts.map((h) => h.hostName)).toEqual(['Example VPN (MCA)']);

    chmodSync(s.profiles, 0o777);
    const kept = await store.load();
    chmodSync(s.profiles, 0o755);
    expect(kept).toBe(set);
    expect(messages()).toMatch(/profile directory refused; keeping the last good profiles/);
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
      const hosts = async () => ((await runClient(s.socket, { calls: [['hosts', {}]] })).results[0]!.result as { hosts: Array<{ name: string }> }).hosts.map((h) => h.name);
      expect(await hosts()).toEqual(['Example VPN (MCA)']);
      copyFileSync(join(ROOT, SECOND), join(s.profiles, 'b.xml'));
      chmodSync(join(s.profiles, 'b.xml'), 0o644);
      expect(await hosts()).toEqual(['Example VPN (MCA)']);
      agent.child.kill('SIGHUP');
      await until(() => agent.stderr().includes('SIGHUP: reloading profiles') && agent.stderr().split('profiles loaded').length > 2);
      expect(await hosts()).toEqual(['Example VPN (MCA)', 'Second Site']);
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      rmSync(join(s.profiles, 'b.xml'), { force: true });
    }
  });
});
