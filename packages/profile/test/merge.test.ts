import { describe, expect, it } from 'vitest';
import { defaultClientInitialization, mergeProfiles, parseProfile } from '@tandem/profile';

function profile(hosts: string[], extra = ''): ReturnType<typeof parseProfile>['document'] {
  const entries = hosts
    .map(
      (h) =>
        `<HostEntry><HostName>${h}</HostName><HostAddress>${h.toLowerCase().replace(/ /g, '-')}.example.com</HostAddress></HostEntry>`,
    )
    .join('\n');
  return parseProfile(
    Buffer.from(
      `<AnyConnectProfile><ClientInitialization>${extra}</ClientInitialization>\n<ServerList>\n${entries}</ServerList></AnyConnectProfile>`,
    ),
  ).document;
}

describe('mergeProfiles (docs/profile.md#several-profiles)', () => {
  const a = profile(['Alpha', 'Shared'], '<CertificateStoreLinux>User</CertificateStoreLinux>');
  const b = profile(['Beta', 'shared'], '<CertificateStoreLinux>Machine</CertificateStoreLinux>');
  const merged = mergeProfiles([
    { file: 'a.xml', profile: a },
    { file: 'b.xml', profile: b },
  ]);

  it('the host list is the union in file order', () => {
    expect(merged.hosts.map((h) => [h.hostName, h.profileFile])).toEqual([
      ['Alpha', 'a.xml'],
      ['Shared', 'a.xml'],
      ['Beta', 'b.xml'],
    ]);
  });

  it('duplicate host names (case-insensitive) are dropped, first wins, with a warning naming both files', () => {
    expect(merged.warnings).toHaveLength(1);
    expect(merged.warnings[0]).toMatchObject({ file: 'b.xml', line: 4, kind: 'duplicate-host' });
    expect(merged.warnings[0]!.message).toContain('a.xml:4');
  });

  it('preferences come from the profile owning the host, by name, address or URL', () => {
    expect(merged.preferencesForHost('Beta').clientInitialization.certificateStoreLinux.value).toBe('Machine');
    expect(merged.preferencesForHost('beta.example.com').profileFile).toBe('b.xml');
    expect(
      merged.preferencesForHost('https://alpha.example.com/').clientInitialization.certificateStoreLinux.value,
    ).toBe('User');
    // The duplicate "shared" belongs to a.xml, whose entry won.
    expect(merged.preferencesForHost('SHARED').profileFile).toBe('a.xml');
  });

  it('an unknown host gets the built-in defaults', () => {
    const p = merged.preferencesForHost('typed.example.org');
    expect(p.profileFile).toBeNull();
    expect(p.host).toBeNull();
    expect(p.clientInitialization).toEqual(defaultClientInitialization());
  });

  it('before a host is chosen the first host’s profile applies; empty list → defaults', () => {
    expect(merged.defaultPreferences().profileFile).toBe('a.xml');
    expect(mergeProfiles([]).defaultPreferences().clientInitialization).toEqual(defaultClientInitialization());
  });

  it('management tunnel profiles are left out of the user host list, and two Always-On profiles are flagged', () => {
    const mgmt = parseProfile(
      Buffer.from(
        '<AnyConnectProfile><ServerList><HostEntry><HostName>m.example.com</HostName></HostEntry></ServerList></AnyConnectProfile>',
      ),
      { managementTunnel: true },
    ).document;
    const ao =
      '<AutomaticVPNPolicy>true<TrustedDNSDomains>x.example.com</TrustedDNSDomains><AlwaysOn>true</AlwaysOn></AutomaticVPNPolicy>';
    const m = mergeProfiles([
      { file: 'mgmttun/VpnMgmtTunProfile.xml', profile: mgmt },
      { file: 'ao1.xml', profile: profile(['One'], ao) },
      { file: 'ao2.xml', profile: profile(['Two'], ao) },
    ]);
    expect(m.hosts.map((h) => h.hostName)).toEqual(['One', 'Two']);
    expect(m.warnings.map((w) => w.kind)).toEqual(['mgmt-profile-excluded', 'multiple-always-on']);
  });
});
