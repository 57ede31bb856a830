/**
 * The protocol half of profile updates (docs/protocol.md#profile-updates) against the lab
 * gateway in-process: a certificate login whose success document offers a user and a
 * management profile, each downloaded with the session cookie and checked against the
 * manifest's SHA-1; a wrong advertised hash, a foreign cookie and a hostile URI.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayLogin } from '@tandem/connection';
import { standardLab, writePem, type Lab } from '@tandem/testkit';
import { Events } from '../apps/lab-gateway/src/events.js';
import { startGateway, type RunningGateway } from '../apps/lab-gateway/src/main.js';
import { parseOptions } from '../apps/lab-gateway/src/options.js';

const USER = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<AnyConnectProfile xmlns="http://schemas.xmlsoap.org/encoding/"><ServerList><HostEntry><HostName>Lab</HostName><HostAddress>vpn.lab.test</HostAddress></HostEntry></ServerList></AnyConnectProfile>\n',
);
const MGMT = Buffer.from(USER.toString().replace('<HostName>Lab<', '<HostName>Lab management<'));
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('profile offers and downloads (lab gateway in-process)', () => {
  let lab: Lab;
  let gw: RunningGateway | null = null;
  let files: { user: string; mgmt: string; server: { cert: string; key: string } };
  const lines: string[] = [];

  beforeAll(async () => {
    lab = await standardLab('tpd');
    files = {
      user: join(lab.dir, 'user.xml'),
      mgmt: join(lab.dir, 'mgmt.xml'),
      server: writePem(lab.dir, 'server', lab.server, [lab.intermediate]),
    };
    writeFileSync(files.user, USER);
    writeFileSync(files.mgmt, MGMT);
  });
  afterEach(async () => {
    await gw?.close();
    gw = null;
  });

  async function login(extra: string[]): Promise<GatewayLogin> {
    const o = parseOptions([
      ...['--listen', '127.0.0.1:0', '--cert', files.server.cert, '--key', files.server.key, '--ca', lab.caFile],
      ...['--pool', '10.243.200.0/24', '--echo', '--no-dtls'],
      ...extra,
    ]);
    gw = await startGateway(o!, new Events((l) => lines.push(l)));
    return GatewayLogin.authenticate({
      auth: {
        url: `https://vpn.lab.test:${gw.port}/`,
        address: '127.0.0.1',
        ca: lab.caBundle,
        trust: { strict: true },
        machine: { cert: lab.machine.certPem, key: lab.machine.keyPem },
      },
    });
  }

  it('offers the user and the management profile; each download is the exact file, with the cookie only', async () => {
    const l = await login(['--profile', files.user, '--mgmt-profile', files.mgmt]);
    try {
      const offers = l.profileOffers;
      expect(offers.map((o) => [o.kind, o.sha1, o.host])).toEqual([
        ['user', sha1(USER), 'vpn.lab.test'],
        ['management', sha1(MGMT), 'vpn.lab.test'],
      ]);
      expect((await l.downloadProfile(offers[0]!)).equals(USER)).toBe(true);
      expect((await l.downloadProfile(offers[1]!)).equals(MGMT)).toBe(true);
      expect(lines.filter((x) => x.includes('"profile-served"'))).toHaveLength(2);
      // A download without this session's cookie is refused by the gateway.
      const foreign = Object.create(l, { auth: { value: { ...l.auth, cookie: 'not-a-session' } } }) as GatewayLogin;
      await expect(foreign.downloadProfile(offers[0]!)).rejects.toThrow(/HTTP 401/);
    } finally {
      l.discard();
    }
  });

  it('an advertised hash the file does not have is refused by the download itself', async () => {
    const l = await login(['--profile', files.user, '--profile-sha1', 'ab'.repeat(20)]);
    try {
      const [offer] = l.profileOffers;
      expect(offer!.sha1).toBe('ab'.repeat(20));
      await expect(l.downloadProfile(offer!)).rejects.toThrow(/does not match the manifest SHA-1/);
    } finally {
      l.discard();
    }
  });

  it('a hostile URI is only ever a path on the same gateway; without a manifest there is nothing to offer', async () => {
    const l = await login(['--profile', files.user, '--profile-uri', '/CACHE/../../../../../etc/tandem/evil.xml']);
    try {
      const [offer] = l.profileOffers;
      expect(offer!.uri).toBe('/CACHE/../../../../../etc/tandem/evil.xml');
      expect((await l.downloadProfile(offer!)).equals(USER)).toBe(true);
    } finally {
      l.discard();
    }
    await gw!.close();
    const none = await login([]);
    expect(none.profileOffers).toEqual([]);
    none.discard();
  });
});
