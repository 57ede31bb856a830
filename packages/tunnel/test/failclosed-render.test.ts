/**
 * The fail-closed block's nft script (docs/always-on.md): what a split tunnel keeps outside it
 * passes by address both ways (a split-include tunnel's networks by complement), AllowedHosts
 * outward only, forwarded replies only by a positive set, and every value is checked. nft itself
 * checks the script (`nft -c`, nothing installed) where it can run.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isTandemError } from '@tandem/common';
import { missing, titled } from '@tandem/testkit';
import { nftBinary, renderFailClosed, type BlockSpec } from '../src/index.js';

const SPLIT: BlockSpec = {
  gateways: [{ address: '192.0.2.10', port: 443 }],
  tunnel: 'tandem0',
  outside: {
    // Overlapping networks are what gateways send; the sets merge them.
    ipv4: { include: ['10.0.0.0/8', '10.20.0.0/16'], exclude: ['10.1.0.0/16', '192.168.1.0/24'] },
    ipv6: { include: [], exclude: ['2001:db8:1::/48'] },
  },
  allowed: ['198.51.100.7', '203.0.113.0/24', '2001:db8:ff::1'],
};

/** The rules of one chain, one per line. */
function chain(script: string, name: string): string[] {
  const body = new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(script)?.[1] ?? '';
  return body
    .split('\n')
    .map((l) => l.trim())
    .slice(1);
}

describe('renderFailClosed with a split policy and AllowedHosts', () => {
  const script = renderFailClosed(SPLIT);

  it('puts each family’s networks in interval sets', () => {
    expect(script).toContain('set tunnel4 {\n    type ipv4_addr; flags interval; auto-merge;\n');
    expect(script).toContain('elements = { 10.0.0.0/8, 10.20.0.0/16 }');
    expect(script).toContain('elements = { 10.1.0.0/16, 192.168.1.0/24 }');
    expect(script).toContain('set outside6 {\n    type ipv6_addr;');
    expect(script).not.toContain('tunnel6'); // an IPv6 full tunnel has no complement
    expect(script).toContain('elements = { 198.51.100.7/32, 203.0.113.0/24 }');
    expect(script).toContain('elements = { 2001:db8:ff::1/128 }');
  });

  it('output: the tunnel, then everything but its networks, the exclusions and AllowedHosts', () => {
    const out = chain(script, 'output');
    expect(out).toEqual(
      expect.arrayContaining([
        'oifname "tandem0" accept',
        'ip daddr @outside4 accept',
        'ip daddr != @tunnel4 accept',
        'ip6 daddr @outside6 accept',
        'ip daddr @allowed4 accept',
        'ip6 daddr @allowed6 accept',
      ]),
    );
  });

  it('input: the same networks as sources; AllowedHosts only by their established replies', () => {
    const inp = chain(script, 'input');
    expect(inp).toEqual(
      expect.arrayContaining([
        'ip saddr @outside4 accept',
        'ip saddr != @tunnel4 accept',
        'ip6 saddr @outside6 accept',
      ]),
    );
    expect(inp.join('\n')).not.toContain('allowed');
  });

  it('forward: by destination, and replies only from a positive set', () => {
    expect(chain(script, 'forward')).toEqual([
      'iifname "tandem0" accept',
      'oifname "tandem0" accept',
      'ip daddr @outside4 accept',
      'ip daddr != @tunnel4 accept',
      'ip6 daddr @outside6 accept',
      'ct direction reply ip saddr @outside4 accept',
      'ct direction reply ip6 saddr @outside6 accept',
    ]);
  });

  it('without a split policy or AllowedHosts the block is what it was: no sets', () => {
    const plain = renderFailClosed({ gateways: SPLIT.gateways, tunnel: 'tandem0' });
    expect(plain).not.toContain(' set ');
    expect(chain(plain, 'forward')).toEqual(['iifname "tandem0" accept', 'oifname "tandem0" accept']);
    expect(chain(plain, 'output').filter((r) => r.includes('daddr @') || r.includes('!= @'))).toEqual([]);
  });

  it('the exclusions stay without a tunnel (ApplyLastVPNLocalResourceRules)', () => {
    const last = renderFailClosed({ gateways: [], outside: { ipv4: { include: [], exclude: ['192.168.1.0/24'] } } });
    expect(chain(last, 'output')).toContain('ip daddr @outside4 accept');
    expect(last).not.toContain('tandem0');
  });

  it('refuses anything that is not a network of the right family', () => {
    const bad: BlockSpec[] = [
      { gateways: [], outside: { ipv4: { include: ['10.0.0.0/8; flush ruleset'], exclude: [] } } },
      { gateways: [], outside: { ipv4: { include: [], exclude: ['2001:db8::/32'] } } },
      { gateways: [], outside: { ipv6: { include: ['10.0.0.0/8'], exclude: [] } } },
      { gateways: [], allowed: ['example.com'] },
      { gateways: [], allowed: ['10.0.0.0/33'] },
    ];
    for (const spec of bad) {
      let err: unknown;
      try {
        renderFailClosed(spec);
      } catch (e) {
        err = e;
      }
      expect(isTandemError(err, 'E_NETCONFIG'), JSON.stringify(spec)).toBe(true);
    }
  });

  const skip = missing('root', 'nft');
  it.skipIf(skip !== null)(titled('nft accepts the script (check mode, nothing installed)', skip), () => {
    const r = spawnSync(nftBinary(), ['-c', '-f', '-'], { input: script, encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
