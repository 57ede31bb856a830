/**
 * The local policy's effects table (docs/profile.md#local-policy): the one place the agent and
 * `tandem profile check` learn what is enforced, what has no effect and what is not supported.
 */
import { describe, expect, it } from 'vitest';
import {
  defaultLocalPolicy,
  localPolicySettings,
  parseLocalPolicy,
  thumbprintCachingRestricted,
  unsupportedSettings,
} from '@tandem/profile';
import { fixture } from './helpers.js';

const policy = (body: string) =>
  parseLocalPolicy(Buffer.from(`<AnyConnectLocalPolicy>${body}</AnyConnectLocalPolicy>`)).document;

describe('local policy effects', () => {
  it('defaults: every setting is marked default and nothing unsupported is reported', () => {
    const rows = localPolicySettings(defaultLocalPolicy());
    expect(rows.every((r) => r.isDefault)).toBe(true);
    expect(unsupportedSettings(defaultLocalPolicy())).toEqual([]);
    expect(rows.find((r) => r.name === 'UpdatePolicy/AuthorizedServerList')?.value).toBe('(none)');
  });

  it('the full fixture: what is enforced, without effect, and not supported', () => {
    const p = parseLocalPolicy(fixture('local-policy-full.xml')).document;
    const by = Object.fromEntries(localPolicySettings(p).map((r) => [r.name, r]));
    expect(by['StrictCertificateTrust']).toMatchObject({ value: 'true', isDefault: false, effect: 'enforced' });
    expect(by['ExcludePemFileCertStore']).toMatchObject({ value: 'true', effect: 'enforced' });
    expect(by['ExcludeFirefoxNSSCertStore']).toMatchObject({ value: 'true', effect: 'enforced' });
    expect(by['RestrictTunnelProtocols']).toMatchObject({ value: 'TLS', effect: 'no effect' });
    expect(by['UpdatePolicy/AuthorizedServerList']).toMatchObject({
      value: 'vpn.example.com, vpn2.example.com',
      effect: 'enforced',
    });
    expect(unsupportedSettings(p).map((r) => r.name)).toEqual(['FipsMode', 'EnableCRLCheck']);
    expect(thumbprintCachingRestricted(p)).toBe(true);
  });

  it('an IPsec-only restriction is not supported; caching restrictions other than thumbprints leave choices rememberable', () => {
    const ipsec = policy('<RestrictTunnelProtocols>IPSec</RestrictTunnelProtocols>');
    expect(unsupportedSettings(ipsec).map((r) => [r.name, r.value])).toEqual([['RestrictTunnelProtocols', 'IPSec']]);
    expect(
      thumbprintCachingRestricted(policy('<RestrictPreferenceCaching>Credentials</RestrictPreferenceCaching>')),
    ).toBe(false);
    expect(thumbprintCachingRestricted(policy('<RestrictPreferenceCaching>All</RestrictPreferenceCaching>'))).toBe(
      true,
    );
    // A value written equal to its default is not "set".
    expect(localPolicySettings(policy('<FipsMode>false</FipsMode>')).every((r) => r.isDefault)).toBe(true);
  });
});
