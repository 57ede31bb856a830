/**
 * Journal storage: atomic private writes, symlink refusal for the directory and the file,
 * recover() as a no-op without journals and idempotent with one. Everything here stays in temp
 * directories; the one recover() run compares against a snapshot of the current routes, so it
 * has nothing to change in the routing table (the netns suite covers real restores).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import {
  captureHostSnapshot,
  NetworkSession,
  validateNetworkConfig,
  readJournal,
  recover,
  writeJournal,
  type JournalRecord,
  type NetworkConfigurator,
} from '@tandem/tunnel';

let tmp = '';
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ttn-journal-unit-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

function record(pid: number, resolvConf: string, before?: JournalRecord['before']): JournalRecord {
  return {
    version: 1,
    owner: { pid, startTicks: null },
    createdAt: new Date().toISOString(),
    phase: 'connected',
    before: before ?? {
      routes4: [],
      routes6: [],
      rules4: [],
      rules6: [],
      resolvConf: { path: resolvConf, kind: 'missing' },
    },
    intended: { gateway: '192.0.2.1', routes4: [], routes6: [], dns: [], domains: [] },
    vpncStateDir: join(tmp, 'vpnc'),
  };
}

const isNetconfig = (e: unknown): boolean => isTandemError(e, 'E_NETCONFIG');

describe('journal files', () => {
  it('are written atomically as 0600 in a 0700 directory, with no temp files left', () => {
    const dir = join(tmp, 'j');
    const path = writeJournal(dir, record(123, '/nonexistent'));
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    for (let i = 0; i < 50; i++) writeJournal(dir, { ...record(123, '/x'), phase: i % 2 ? 'connecting' : 'connected' });
    expect(readdirSync(dir)).toEqual(['session-123.json']);
    expect(readJournal(path)?.owner.pid).toBe(123);
  });

  it('refuses a symlinked journal directory', () => {
    const real = join(tmp, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(tmp, 'link'));
    expect(() => writeJournal(join(tmp, 'link'), record(1, '/x'))).toThrow(
      expect.objectContaining({ code: 'E_NETCONFIG' }),
    );
    return expect(recover(join(tmp, 'link'))).rejects.toSatisfy(isNetconfig);
  });

  it('refuses a directory with group/world access', () => {
    const dir = join(tmp, 'open');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    expect(() => writeJournal(dir, record(1, '/x'))).toThrow(expect.objectContaining({ code: 'E_NETCONFIG' }));
  });

  it('refuses a symlinked journal file (O_NOFOLLOW), and a group-writable one', () => {
    const dir = join(tmp, 'j');
    writeJournal(dir, record(5, '/x'));
    writeFileSync(join(tmp, 'evil.json'), JSON.stringify(record(6, '/x')));
    symlinkSync(join(tmp, 'evil.json'), join(dir, 'session-6.json'));
    expect(() => readJournal(join(dir, 'session-6.json'))).toThrow(expect.objectContaining({ code: 'E_NETCONFIG' }));
    chmodSync(join(dir, 'session-5.json'), 0o620);
    expect(() => readJournal(join(dir, 'session-5.json'))).toThrow(expect.objectContaining({ code: 'E_NETCONFIG' }));
  });
});

describe('recover()', () => {
  it('is a no-op when the directory does not exist or is empty', async () => {
    expect((await recover(join(tmp, 'missing'))).journals).toEqual([]);
    mkdirSync(join(tmp, 'empty'), { mode: 0o700 });
    expect((await recover(join(tmp, 'empty'))).journals).toEqual([]);
  });

  it('leaves a journal whose owner is alive', async () => {
    const dir = join(tmp, 'j');
    writeJournal(dir, record(process.pid, join(tmp, 'resolv.conf')));
    const r = await recover(dir);
    expect(r.journals.map((j) => j.outcome)).toEqual(['owner-alive']);
    expect(readdirSync(dir)).toEqual([`session-${process.pid}.json`]);
  });

  it('restores resolv.conf bytes and vpnc leftovers of a dead owner, and is idempotent', async () => {
    const dir = join(tmp, 'j');
    const resolv = join(tmp, 'resolv.conf');
    const original = Buffer.from('# original\nnameserver 192.0.2.53\nsearch lab.test\n\u00e9\n');
    writeFileSync(resolv, original);
    const before = await captureHostSnapshot(resolv);
    const pid = deadPid();
    writeJournal(dir, record(pid, resolv, before));
    writeFileSync(resolv, '#@VPNC_GENERATED@\nnameserver 10.233.9.53\n');
    mkdirSync(join(tmp, 'vpnc'));
    writeFileSync(join(tmp, 'vpnc', `defaultroute.${pid}`), 'default via 192.0.2.1\n');
    const first = await recover(dir);
    expect(first.journals).toHaveLength(1);
    expect(first.journals[0]).toMatchObject({
      outcome: 'restored',
      repair: { resolvConfRestored: true, failures: [], routesDeleted: [] },
    });
    expect(readFileSync(resolv)).toEqual(original);
    expect(readdirSync(join(tmp, 'vpnc'))).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    const second = await recover(dir);
    expect(second.journals).toEqual([]);
    expect(readFileSync(resolv)).toEqual(original);
  });
});

describe('half-written journal versions', () => {
  it("recover deletes temp files of dead writers and keeps a live writer's and anything else", async () => {
    const dir = join(tmp, 'j');
    mkdirSync(dir, { mode: 0o700 });
    const dead = deadPid();
    const names = {
      dead: `.session-${dead}.json.tmp-${dead}-0123456789ab`,
      live: `.session-${process.pid}.json.tmp-${process.pid}-0123456789ab`,
      other: 'notes.txt',
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), '{}');
    const report = await recover(dir);
    expect(report.tempFilesRemoved).toEqual([names.dead]);
    expect(readdirSync(dir).sort()).toEqual([names.live, names.other].sort());
    expect((await recover(dir)).tempFilesRemoved).toEqual([]);
  });
});

describe('NetworkSession.begin', () => {
  it('a hostile configuration is refused when it is built, so no journal is written and no configurator runs', async () => {
    let calls = 0;
    const count = async (): Promise<never> => {
      calls++;
      throw new Error('must not run');
    };
    const configurator: NetworkConfigurator = {
      kind: 'fake',
      preInit: count,
      connect: count,
      disconnect: count,
      attemptReconnect: count,
      reconnect: count,
    };
    const dir = join(tmp, 'j');
    await expect(
      (async () =>
        NetworkSession.begin({
          configurator,
          journalDir: dir,
          config: validateNetworkConfig({
            gateway: '192.0.2.1',
            ipv4: { address: '10.0.0.1' },
            mtu: 1400,
            domains: ['a\nnameserver 6.6.6.6'],
          }),
        }))(),
    ).rejects.toSatisfy(isNetconfig);
    expect(calls).toBe(0);
    expect(() => readdirSync(dir)).toThrow();
  });
});
