import { describe, expect, it } from 'vitest';
import { certificateHash, evaluateTnd, matchDns, wildcardMatch } from '../src/index.js';
import { FakeProbe, mgmtProfile } from '@tandem/engine/testing';

const policy = (tnd: Parameters<typeof mgmtProfile>[0]) => mgmtProfile(tnd).clientInitialization.automaticVpnPolicy;

describe('wildcardMatch', () => {
  it.each([
    ['corp.example.com', 'corp.example.com', true],
    ['corp.example.com', 'CORP.Example.com', true],
    ['corp.example.com', 'xcorp.example.com', false],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['10.1.1.*', '10.1.1.254', true],
    ['10.1.1.*', '10.1.10.1', false],
    ['10.*.1.*', '10.200.1.7', true],
    ['*', 'anything', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['a*a', 'a', false],
  ])('%s vs %s → %s', (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });
});

describe('matchDns', () => {
  const net = (dnsDomains: string[], dnsServers: string[]) => ({ dnsDomains, dnsServers });

  it('domains only: any of the network domains matching is enough', () => {
    const p = policy({ domains: 'corp.example.com,*.corp.example.net' });
    expect(matchDns(p, net(['home.lan', 'x.corp.example.net'], ['1.1.1.1']))?.verdict).toBe('trusted');
    expect(matchDns(p, net(['home.lan'], ['1.1.1.1']))?.verdict).toBe('untrusted');
  });

  it('servers only: every resolver must be trusted', () => {
    const p = policy({ servers: '192.0.2.*' });
    expect(matchDns(p, net([], ['192.0.2.53', '192.0.2.54']))?.verdict).toBe('trusted');
    const mixed = matchDns(p, net([], ['192.0.2.53', '203.0.113.9']));
    expect(mixed).toEqual({ verdict: 'untrusted', reason: 'DNS server 203.0.113.9 is not in TrustedDNSServers' });
    expect(matchDns(p, net([], []))?.verdict).toBe('untrusted');
  });

  it('both given: both must match', () => {
    const p = policy({ domains: 'corp.example.com', servers: '192.0.2.53' });
    expect(matchDns(p, net(['corp.example.com'], ['192.0.2.53']))).toEqual({
      verdict: 'trusted',
      reason: 'DNS domain and servers match',
    });
    expect(matchDns(p, net(['corp.example.com'], ['198.51.100.1']))?.verdict).toBe('untrusted');
    expect(matchDns(p, net(['evil.example.org'], ['192.0.2.53']))?.verdict).toBe('untrusted');
  });

  it('no DNS criteria → null (not a decision)', () => {
    expect(matchDns(policy({ https: [{ address: 'tnd.corp', port: 443, hash: 'aa' }] }), net(['x'], ['y']))).toBeNull();
  });
});

describe('evaluateTnd', () => {
  const der = Buffer.from('fake leaf certificate DER');
  const hash = certificateHash(der);

  it('hashes the DER leaf with SHA-256 in lower-case hex', () => {
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('TrustedHttpsServerList: trusted when a listed server presents the pinned certificate (hash case-insensitive)', async () => {
    const probe = new FakeProbe();
    probe.certs.set('tnd.corp.example.com:8443', der);
    const p = policy({
      https: [
        { address: 'down.corp', port: 443, hash },
        { address: 'tnd.corp.example.com', port: 8443, hash: hash.toUpperCase() },
      ],
    });
    const r = await evaluateTnd(p, { dnsDomains: [], dnsServers: [] }, { probe });
    expect(r.verdict).toBe('trusted');
    expect(r.reason).toContain('tnd.corp.example.com:8443');
  });

  it('TrustedHttpsServerList: a different certificate or no answer is untrusted', async () => {
    const probe = new FakeProbe();
    probe.certs.set('tnd.corp:443', Buffer.from('rogue'));
    const r = await evaluateTnd(
      policy({ https: [{ address: 'tnd.corp', port: 443, hash }] }),
      { dnsDomains: [], dnsServers: [] },
      { probe },
    );
    expect(r.verdict).toBe('untrusted');
    expect(r.reason).toMatch(/not the trusted one/);
    const r2 = await evaluateTnd(
      policy({ https: [{ address: 'gone', port: 443, hash }] }),
      { dnsDomains: [], dnsServers: [] },
      { probe },
    );
    expect(r2.reason).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('DNS criteria are checked first; a DNS mismatch never probes', async () => {
    const probe = new FakeProbe();
    let probed = 0;
    probe.leafCertificate = async () => {
      probed += 1;
      return der;
    };
    const p = policy({ domains: 'corp.example.com', https: [{ address: 'tnd', port: 443, hash }] });
    expect((await evaluateTnd(p, { dnsDomains: ['hotel'], dnsServers: [] }, { probe })).verdict).toBe('untrusted');
    expect(probed).toBe(0);
    expect((await evaluateTnd(p, { dnsDomains: ['corp.example.com'], dnsServers: [] }, { probe })).verdict).toBe(
      'trusted',
    );
    expect(probed).toBe(1);
  });

  it('unknown when TND is off, unconfigured, has no network, or needs a probe it lacks', async () => {
    const net = { dnsDomains: ['corp.example.com'], dnsServers: [] };
    expect((await evaluateTnd(policy({ domains: 'corp.example.com', enabled: false }), net)).verdict).toBe('unknown');
    expect((await evaluateTnd(policy({}), net)).reason).toMatch(/TND not configured/);
    expect(await evaluateTnd(policy({ domains: 'corp.example.com' }), null)).toEqual({
      verdict: 'unknown',
      reason: 'no network',
    });
    expect((await evaluateTnd(policy({ https: [{ address: 'a', port: 1, hash }] }), net)).verdict).toBe('unknown');
  });
});
