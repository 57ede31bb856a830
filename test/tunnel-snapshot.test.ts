/**
 * The journal's "before" snapshot reads routes and policy rules with one `ip -batch` process
 * per family (two spawns instead of four: it runs while a connect is being timed). Shown here,
 * in a namespace holding the awkward cases — a multipath route whose nexthops are continuation
 * lines, IPv6 routes that start with digits and a colon, extra policy rules — that it records
 * exactly what the four separate `ip` commands print, and that with IPv6 disabled it still
 * records the IPv4 side.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouteLines } from '@tandem/tunnel';
import { NetnsLab } from './lib/netns.js';
import { missing, titled } from '@tandem/testkit';

const skip = missing('netns');
const TUNNEL_DIST = fileURLToPath(new URL('../packages/tunnel/dist/index.js', import.meta.url));

describe.skipIf(skip !== null)(titled('host snapshot with ip -batch (netns)', skip), () => {
  const lab = new NetnsLab('tsn', [239, 9]);

  beforeAll(async () => {
    await lab.create();
    const ip = (...args: string[]) => lab.exec(lab.cli, 'ip', args);
    await ip('link', 'add', 'tsn-d0', 'type', 'veth', 'peer', 'name', 'tsn-d1');
    await ip('link', 'set', 'tsn-d0', 'up');
    await ip('link', 'set', 'tsn-d1', 'up');
    await ip('addr', 'add', '10.239.20.1/24', 'dev', 'tsn-d0');
    await ip('addr', 'add', '10.239.21.1/24', 'dev', 'tsn-d1');
    await ip(
      'route',
      'add',
      '10.239.30.0/24',
      'nexthop',
      'via',
      '10.239.20.2',
      'dev',
      'tsn-d0',
      'nexthop',
      'via',
      '10.239.21.2',
      'dev',
      'tsn-d1',
    );
    await ip('-6', 'addr', 'add', '2001:db8:9::1/64', 'dev', 'tsn-d0', 'nodad');
    await ip('-6', 'route', 'add', '2001:db8:77::/48', 'via', '2001:db8:9::2', 'dev', 'tsn-d0');
    await ip('rule', 'add', 'from', '10.239.20.0/24', 'table', '100', 'prio', '100');
    await ip('-6', 'rule', 'add', 'from', '2001:db8:9::/64', 'table', '100', 'prio', '101');
  }, 30_000);

  afterAll(async () => {
    await lab.destroy();
  });

  const snapshot = async (): Promise<Record<string, string[]>> => {
    const code = `import(${JSON.stringify(TUNNEL_DIST)}).then(async (t) => { const s = await t.captureHostSnapshot('/dev/null'); delete s.resolvConf; console.log(JSON.stringify(s)); })`;
    return JSON.parse(await lab.exec(lab.cli, process.execPath, ['-e', code])) as Record<string, string[]>;
  };
  const separately = async (): Promise<Record<string, string[]>> => {
    const ip = (...args: string[]) => lab.exec(lab.cli, 'ip', args);
    const lines = (out: string) => out.split('\n').filter(Boolean);
    return {
      routes4: parseRouteLines(await ip('-4', 'route', 'show', 'table', 'main')),
      routes6: parseRouteLines(await ip('-6', 'route', 'show', 'table', 'main')),
      rules4: lines(await ip('-4', 'rule', 'show')),
      rules6: lines(await ip('-6', 'rule', 'show')),
    };
  };

  it('records exactly what the separate ip commands print (multipath, IPv6 routes, extra rules)', async () => {
    const batched = await snapshot();
    expect(batched).toEqual(await separately());
    expect(
      batched['routes4']!.some((r) => r.startsWith('10.239.30.0/24') && r.includes('nexthop via 10.239.21.2')),
    ).toBe(true);
    expect(batched['routes6']!.some((r) => r.startsWith('2001:db8:77::/48'))).toBe(true);
    expect(batched['rules4']).toContain('100:\tfrom 10.239.20.0/24 lookup 100');
    expect(batched['rules6']).toContain('101:\tfrom 2001:db8:9::/64 lookup 100');
  });

  it('with IPv6 disabled in the namespace the IPv4 side is still recorded', async () => {
    await lab.exec(lab.cli, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    try {
      const batched = await snapshot();
      expect(batched['routes4']).toEqual((await separately())['routes4']);
      expect(batched['routes4']!.length).toBeGreaterThan(2);
      expect(batched['rules4']).toContain('100:\tfrom 10.239.20.0/24 lookup 100');
    } finally {
      await lab.exec(lab.cli, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=0']);
    }
  });
});
