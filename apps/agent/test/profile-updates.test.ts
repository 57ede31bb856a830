/**
 * Profile updates offered by a gateway (docs/profile.md#profile-updates), decided and installed
 * by the agent: the target path comes from the profile's kind (never from the manifest), the
 * local policy's UpdatePolicy is honoured, an identical file is not downloaded again, a bad
 * hash or an invalid profile leaves the installed file as it was, and the replacement is atomic
 * (root-owned 0644, no temporary file left).
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nullLogger } from '@tandem/common';
import type { ProfileOffer } from '@tandem/connection';
import { defaultLocalPolicy, parseLocalPolicy, type LocalPolicy } from '@tandem/profile';
import { isRoot, missing, titled } from '@tandem/testkit';
import {
  authorizedServer,
  ProfileUpdater,
  updateRefusal,
  updateTarget,
  type OfferSource,
  type UpdateContext,
} from '../src/profile-updates.js';

const profile = (name: string) =>
  Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/">` +
      `<ServerList><HostEntry><HostName>${name}</HostName><HostAddress>vpn.lab.test</HostAddress></HostEntry></ServerList></AnyConnectProfile>\n`,
  );
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const policyOf = (update: string): LocalPolicy =>
  parseLocalPolicy(Buffer.from(`<AnyConnectLocalPolicy><UpdatePolicy>${update}</UpdatePolicy></AnyConnectLocalPolicy>`))
    .document;

function offer(kind: ProfileOffer['kind'], body: Buffer, over: Partial<ProfileOffer> = {}): ProfileOffer {
  return {
    kind,
    sha1: sha1(body),
    uri: '/CACHE/stc/profiles/lab.xml',
    host: 'vpn.lab.test',
    entry: { uri: '/CACHE/stc/profiles/lab.xml', sha1: sha1(body).toUpperCase(), serviceType: kind },
    ...over,
  };
}

/** Offers whose download answers `bodies[i]` and counts the downloads. */
function source(offers: ProfileOffer[], bodies: Buffer[]): OfferSource & { downloads: number } {
  const s = {
    offers,
    downloads: 0,
    download: (o: ProfileOffer) => {
      s.downloads++;
      return Promise.resolve(bodies[offers.indexOf(o)]!);
    },
  };
  return s;
}

describe('update decisions', () => {
  it('UpdatePolicy: any server of the profiles by default; the list alone when "any" is false; a hand-typed gateway only when listed', () => {
    const d = defaultLocalPolicy();
    expect(updateRefusal(d, 'user', 'vpn.lab.test', true)).toBeNull();
    expect(updateRefusal(d, 'user', 'evil.example', false)).toMatch(/in no installed profile's server list/);
    const strict = policyOf(
      '<AllowVPNProfileUpdatesFromAnyServer>false</AllowVPNProfileUpdatesFromAnyServer>' +
        '<AuthorizedServerList><ServerName>VPN.lab.test.</ServerName><ServerName>other:8443</ServerName></AuthorizedServerList>',
    );
    expect(updateRefusal(strict, 'user', 'vpn.lab.test', false)).toBeNull();
    expect(updateRefusal(strict, 'user', 'other', true)).toBeNull();
    expect(updateRefusal(strict, 'user', 'backup.lab.test', true)).toMatch(
      /AllowVPNProfileUpdatesFromAnyServer is false and its AuthorizedServerList does not name backup.lab.test/,
    );
    // The management setting is separate.
    expect(updateRefusal(strict, 'management', 'backup.lab.test', true)).toBeNull();
    const mgmt = policyOf(
      '<AllowManagementVPNProfileUpdatesFromAnyServer>false</AllowManagementVPNProfileUpdatesFromAnyServer>',
    );
    expect(updateRefusal(mgmt, 'management', 'vpn.lab.test', true)).toMatch(/AllowManagementVPNProfileUpdates/);
    expect(updateRefusal(mgmt, 'user', 'vpn.lab.test', true)).toBeNull();
    expect(authorizedServer('fd00::1', '[fd00::1]')).toBe(true);
    expect(authorizedServer('fd00::1', 'fd00::2')).toBe(false);
  });

  it('the target comes from the kind and the host entry, never from a name the gateway sent', () => {
    expect(updateTarget('/etc/tandem/profiles', 'management', 'vpn.lab.test', null)).toBe(
      '/etc/tandem/profiles/mgmttun/VpnMgmtTunProfile.xml',
    );
    expect(updateTarget('/etc/tandem/profiles/', 'user', 'vpn.lab.test', '/etc/tandem/profiles/corp.xml')).toBe(
      '/etc/tandem/profiles/corp.xml',
    );
    // The owner in Secure Client's directory is not written: Tandem's directory is read first.
    expect(
      updateTarget('/etc/tandem/profiles', 'user', 'VPN.lab.test', '/opt/cisco/secureclient/vpn/profile/a.xml'),
    ).toBe('/etc/tandem/profiles/gateway-vpn.lab.test.xml');
    for (const host of ['../../etc/cron.d/x', '..', '/etc/passwd', 'a/../../b', 'fd00::1'])
      expect(updateTarget('/etc/tandem/profiles', 'user', host, null)).toMatch(
        /^\/etc\/tandem\/profiles\/gateway-[a-z0-9._-]+\.xml$/,
      );
  });
});

describe.skipIf(!isRoot)(titled('installing offered profiles', missing('root')), () => {
  let dir: string;
  let profiles: string;
  let policy: LocalPolicy;
  let updater: ProfileUpdater;
  const ctx: UpdateContext = { tunnel: 'user', profileFile: null, inProfiles: true };

  beforeEach(() => {
    dir = mkdtempSync('/run/tandem-profile-updates-');
    chmodSync(dir, 0o755);
    profiles = join(dir, 'profiles');
    mkdirSync(profiles, { mode: 0o755 });
    policy = defaultLocalPolicy();
    updater = new ProfileUpdater({
      profileDir: profiles,
      profileDirs: [profiles],
      policy: () => policy,
      log: nullLogger,
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const owner = () => {
    const file = join(profiles, 'corp.xml');
    writeFileSync(file, profile('Old'), { mode: 0o644 });
    return file;
  };

  it('replaces the profile owning the host and creates the management profile; root 0644, nothing else written', async () => {
    const file = owner();
    const user = profile('New');
    const mgmt = profile('Management');
    const src = source([offer('user', user), offer('management', mgmt)], [user, mgmt]);
    const outcomes = await updater.apply({ ...ctx, profileFile: file }, src);
    expect(outcomes.map((o) => [o.kind, o.status, o.file])).toEqual([
      ['user', 'installed', file],
      ['management', 'installed', join(profiles, 'mgmttun', 'VpnMgmtTunProfile.xml')],
    ]);
    expect(readFileSync(file)).toEqual(user);
    expect(readFileSync(join(profiles, 'mgmttun', 'VpnMgmtTunProfile.xml'))).toEqual(mgmt);
    for (const f of [file, join(profiles, 'mgmttun', 'VpnMgmtTunProfile.xml')]) {
      const st = statSync(f);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o644]);
    }
    expect(readdirSync(profiles).sort()).toEqual(['corp.xml', 'mgmttun']);
    expect(readdirSync(join(profiles, 'mgmttun'))).toEqual(['VpnMgmtTunProfile.xml']);
    // Offered again: already installed, not downloaded again.
    const again = source([offer('user', user), offer('management', mgmt)], [user, mgmt]);
    expect((await updater.apply({ ...ctx, profileFile: file }, again)).map((o) => o.status)).toEqual([
      'up-to-date',
      'up-to-date',
    ]);
    expect(again.downloads).toBe(0);
    // The same profile under another name (another gateway's file, the owner unknown) is not added twice.
    const elsewhere = source([offer('user', user, { host: 'backup.lab.test' })], [user]);
    expect((await updater.apply(ctx, elsewhere))[0]!.status).toBe('up-to-date');
    expect(elsewhere.downloads).toBe(0);
  });

  it('an invalid profile, a bad hash and a policy refusal leave the installed file as it was', async () => {
    const file = owner();
    const before = readFileSync(file);
    const broken = Buffer.from('<AnyConnectProfile><ServerList>');
    const wrongRoot = Buffer.from('<AnyConnectLocalPolicy/>');
    const good = profile('New');
    const cases: Array<[OfferSource, RegExp]> = [
      [source([offer('user', broken)], [broken]), /not a valid profile/],
      [
        source([offer('user', wrongRoot)], [wrongRoot]),
        /not a valid profile: .*root element is <AnyConnectLocalPolicy>/,
      ],
      // The manifest announced other bytes than those that arrived.
      [source([offer('user', good, { sha1: '0'.repeat(40) })], [good]), /does not match the manifest SHA-1/],
    ];
    for (const [src, reason] of cases) {
      const [o] = await updater.apply({ ...ctx, profileFile: file }, src);
      expect(o).toMatchObject({ status: 'refused', reason: expect.stringMatching(reason) });
      expect(readFileSync(file)).toEqual(before);
    }
    policy = policyOf('<AllowVPNProfileUpdatesFromAnyServer>false</AllowVPNProfileUpdatesFromAnyServer>');
    const refused = source([offer('user', good)], [good]);
    expect((await updater.apply({ ...ctx, profileFile: file }, refused))[0]).toMatchObject({
      status: 'refused',
      reason: expect.stringMatching(/AllowVPNProfileUpdatesFromAnyServer is false/),
    });
    expect(refused.downloads).toBe(0);
    expect(readFileSync(file)).toEqual(before);
    expect(readdirSync(profiles)).toEqual(['corp.xml']);
  });

  it('a download failure and an unsafe directory are failures; a hostile host never leaves the directory', async () => {
    const good = profile('New');
    const failing: OfferSource = {
      offers: [offer('user', good)],
      download: () => Promise.reject(new Error('gateway answered HTTP 404')),
    };
    expect((await updater.apply(ctx, failing))[0]).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/HTTP 404/),
    });
    const hostile = offer('user', good, { host: '../../../tmp/x', uri: '/../../../../tmp/evil.xml' });
    const [o] = await updater.apply(ctx, source([hostile], [good]));
    expect(o).toMatchObject({ status: 'installed', file: join(profiles, 'gateway-.._.._.._tmp_x.xml') });
    expect(readdirSync(profiles)).toEqual(['gateway-.._.._.._tmp_x.xml']);
    chmodSync(profiles, 0o775);
    const unsafe = await updater.apply(ctx, source([offer('user', profile('Other'))], [profile('Other')]));
    expect(unsafe[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/writable by group/) });
  });

  it('offered() queues in the background and never throws', async () => {
    const good = profile('Queued');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const src: OfferSource = { offers: [offer('user', good)], download: () => gate.then(() => good) };
    expect(updater.offered(ctx, src)).toBeUndefined();
    expect(readdirSync(profiles)).toEqual([]);
    release();
    // The install writes a temp file first and renames it: wait for the final name.
    const done = () => readdirSync(profiles).includes('gateway-vpn.lab.test.xml');
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(profiles)).toEqual(['gateway-vpn.lab.test.xml']);
  });
});
