/**
 * The network collectors against this machine's real state (loopback, local routes, the real
 * nft), plus fixed inputs for DNS files, a stand-in nft and proxy variables.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '@tandem/testkit';
import {
  dnsCollector,
  firewallCollector,
  interfacesCollector,
  proxyCollector,
  routesCollector,
  stripCredentials,
} from '../src/diag/network.js';
import { runCollector } from './lib/run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-diag-net-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = runCollector;

const noIp = missing('ip');

describe.skipIf(noIp)(`interfaces and routes (${noIp ?? 'ip present'})`, () => {
  it('interfaces.txt: both commands under their headers, loopback included', async () => {
    const r = await run(interfacesCollector());
    expect(r.exit).toBe(0);
    expect(r.data).toMatch(/^\$ \/usr\/sbin\/ip -d addr show\n/);
    expect(r.data).toContain('\n$ /usr/sbin/ip -s link show\n');
    expect(r.data).toMatch(/^\d+: lo: <LOOPBACK/m);
    expect(r.data).toContain('inet 127.0.0.1/8');
    expect(r.data).toMatch(/RX: {2}?bytes/);
  });

  it('routes4.txt: every table (the local one included) and the rules', async () => {
    const r = await run(routesCollector(4));
    expect(r.exit).toBe(0);
    expect(r.data).toMatch(/^\$ \/usr\/sbin\/ip -4 route show table all\n/);
    expect(r.data).toMatch(/^local 127\.0\.0\.1 dev lo table local/m);
    expect(r.data).toContain('\n$ /usr/sbin/ip -4 rule show\n');
    expect(r.data).toMatch(/from all lookup main/);
  });

  it('routes6.txt: the same for IPv6', async () => {
    const r = await run(routesCollector(6));
    expect(r.data).toMatch(/^\$ \/usr\/sbin\/ip -6 route show table all\n/);
    expect(r.data).toContain('\n$ /usr/sbin/ip -6 rule show\n');
    expect(typeof r.exit).toBe('number');
  });
});

describe('dns.txt', () => {
  it('shows resolv.conf and its link target, states a missing resolvectl, lists the resolvconf tree', async () => {
    const real = join(dir, 'stub-resolv.conf');
    writeFileSync(real, 'nameserver 192.0.2.53\nsearch corp.example\n');
    const link = join(dir, 'resolv.conf');
    symlinkSync(real, link);
    const tree = join(dir, 'run-resolvconf');
    mkdirSync(join(tree, 'interface'), { recursive: true });
    writeFileSync(join(tree, 'interface', 'tun0'), 'nameserver 10.0.0.53\n');
    writeFileSync(join(tree, 'hook'), '#!/bin/sh\necho secret-ish script\n');
    chmodSync(join(tree, 'hook'), 0o755);
    const r = await run(
      dnsCollector({
        resolvConf: link,
        resolvectl: join(dir, 'no-resolvectl'),
        resolvconfDirs: [tree, join(dir, 'absent')],
      }),
    );
    expect(r.exit).toBe(0);
    expect(r.data).toContain(`[not run: ${join(dir, 'no-resolvectl')} not installed; systemd-resolved is not in use]`);
    expect(r.data).toContain(`== ${link}\n(symbolic link to ${real})\nnameserver 192.0.2.53\nsearch corp.example\n`);
    expect(r.data).toContain(`${join(tree, 'interface')}/`);
    expect(r.data).toMatch(
      new RegExp(`${join(tree, 'interface', 'tun0')} {2}21 bytes .*\\n {4}\\| nameserver 10\\.0\\.0\\.53\\n`),
    );
    expect(r.data).toContain(`${join(tree, 'hook')}  `);
    expect(r.data).not.toContain('secret-ish script'); // executables are listed, not shown
    expect(r.data).toContain(`== ${join(dir, 'absent')}\nnot present\n`);
  });

  it('a missing resolv.conf is stated, not thrown', async () => {
    const r = await run(
      dnsCollector({ resolvConf: join(dir, 'nope.conf'), resolvectl: '/nonexistent', resolvconfDirs: [] }),
    );
    expect(r.data).toMatch(/nope\.conf\nunavailable: ENOENT/);
  });

  it('runs resolvectl status when it exists', async () => {
    const fake = join(dir, 'resolvectl');
    writeFileSync(fake, '#!/bin/sh\necho "Global"\necho "  Protocols: +LLMNR"\n');
    chmodSync(fake, 0o755);
    const r = await run(dnsCollector({ resolvConf: '/etc/resolv.conf', resolvectl: fake, resolvconfDirs: [] }));
    expect(r.data).toContain(`$ ${fake} status\nGlobal\n  Protocols: +LLMNR\n`);
  });
});

describe('firewall.txt', () => {
  const fakeNft = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('no Tandem table is a normal outcome, said in words, with the other tables listed', async () => {
    const nft = fakeNft(
      'nft-absent',
      'if [ "$2" = tables ]; then echo "table inet firewalld"; exit 0; fi\necho "Error: No such file or directory" >&2; exit 1',
    );
    const r = await run(firewallCollector(nft));
    expect(r.exit).toBe(0);
    expect(r.data).toContain('No table inet tandem: Tandem has no firewall rules installed on this machine.');
    expect(r.data).toContain(`$ ${nft} list tables\ntable inet firewalld\n`);
  });

  it('shows the table when there is one', async () => {
    const nft = fakeNft('nft-present', 'echo "table inet tandem {"; echo "}"');
    const r = await run(firewallCollector(nft));
    expect(r.exit).toBe(0);
    expect(r.data).toContain(`$ ${nft} list table inet tandem\ntable inet tandem {\n}\n`);
  });

  it('a missing nft is stated, exit 127', async () => {
    const r = await run(firewallCollector(join(dir, 'no-nft')));
    expect(r.exit).toBe(127);
    expect(r.data).toContain('not installed; no nftables rules can be listed');
  });

  const noNft = missing('root', 'nft');
  it.skipIf(noNft)(`the real nft answers (${noNft ?? 'root and nft present'})`, async () => {
    const r = await run(firewallCollector());
    expect(r.data).toMatch(/^\$ \/usr\/sbin\/nft list table inet tandem\n/);
    expect(r.data).toContain('$ /usr/sbin/nft list tables');
    expect(r.exit).toBe(0);
  });
});

describe('proxy.txt', () => {
  it.each([
    ['http://user:pw@proxy.example:3128', 'http://[credentials removed]@proxy.example:3128'],
    ['https://u:p@ss@proxy.example/', 'https://[credentials removed]@proxy.example/'],
    ['socks5h://alice@10.0.0.1:1080', 'socks5h://[credentials removed]@10.0.0.1:1080'],
    ['bob:secret@proxy:8080', '[credentials removed]@proxy:8080'],
    ['http://proxy.example:3128', 'http://proxy.example:3128'],
    ['localhost,.corp.example,10.0.0.0/8', 'localhost,.corp.example,10.0.0.0/8'],
    ['http://a:b@p1:1, http://c:d@p2:2', 'http://[credentials removed]@p1:1, http://[credentials removed]@p2:2'],
  ])('strips credentials: %s', (input, output) => {
    expect(stripCredentials(input)).toBe(output);
  });

  it('lists the proxy variables only, credentials stripped, and the names removed at start', async () => {
    const r = await run(
      proxyCollector({
        env: { HTTPS_PROXY: 'http://user:hunter2@proxy.example:3128', no_proxy: 'localhost', PATH: '/bin' },
        removedAtStart: ['HTTP_PROXY', 'LD_PRELOAD'],
      }),
    );
    expect(r.data).toBe(
      'Proxy variables in the agent environment:\n' +
        '  HTTPS_PROXY=http://[credentials removed]@proxy.example:3128\n' +
        '  no_proxy=localhost\n' +
        'Removed from the agent environment at start (the agent never uses a proxy):\n' +
        '  HTTP_PROXY\n',
    );
  });

  it('says none when there are none', async () => {
    expect((await run(proxyCollector({ env: {} }))).data).toBe('Proxy variables in the agent environment:\n  none\n');
  });
});
