/**
 * `tandem auth` helpers that need no gateway: the profile's UserGroup becomes the group URL
 * when the command line names none (an explicit path or --authgroup wins).
 */
import { describe, expect, it } from 'vitest';
import { profileGroupUrl } from '../src/local/auth.js';

const entry = (hostAddress: string, userGroup?: string) => ({ hostAddress, ...(userGroup ? { userGroup } : {}) });

describe('tandem auth: group URL from the profile', () => {
  const profile = { serverList: [entry('other.lab.test', 'X'), entry('vpn.lab.test', 'machines')] };

  it('adds the UserGroup of the matching HostEntry', () => {
    expect(profileGroupUrl('https://vpn.lab.test/', profile)).toBe('https://vpn.lab.test/machines');
    expect(profileGroupUrl('vpn.lab.test:8443', profile)).toBe('https://vpn.lab.test:8443/machines');
  });

  it('keeps an explicit group path, other hosts, and works without a profile', () => {
    expect(profileGroupUrl('https://vpn.lab.test/users', profile)).toBe('https://vpn.lab.test/users');
    expect(profileGroupUrl('https://third.lab.test/', profile)).toBe('https://third.lab.test/');
    expect(profileGroupUrl('https://vpn.lab.test/', null)).toBe('https://vpn.lab.test/');
    expect(profileGroupUrl('https://vpn.lab.test/', { serverList: [entry('vpn.lab.test')] })).toBe(
      'https://vpn.lab.test/',
    );
  });
});
