/**
 * The profiles the gateway offers in its success document (docs/protocol.md#profile-updates):
 * the `<vpn-profile-manifest>` entries and the GET that serves them to a client holding a valid
 * session cookie, like an ASA's `/CACHE/stc/profiles/…`. Tests may advertise another hash or a
 * hostile URI (`--profile-sha1`, `--profile-uri`) to check what a client does with them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { xmlEscape } from './config-auth.js';
import type { GatewayOptions } from './options.js';

/** One offered file. */
export interface OfferedProfile {
  /** `user`, or `vpn-mgmt` for the management tunnel profile. */
  serviceType: string;
  /** The URI as advertised (may be anything a test wants a client to see). */
  uri: string;
  /** The path the GET must ask for: the URI resolved against the gateway, as a client does. */
  path: string;
  /** SHA-1 as advertised, upper-case hex. */
  sha1: string;
  body: Buffer;
}

function pathOf(uri: string): string {
  const url = new URL(uri, 'https://gateway.invalid/');
  return `${url.pathname}${url.search}`;
}

/** The offers configured by `--profile`, `--mgmt-profile`, `--profile-uri` and `--profile-sha1` (files read once, at start). */
export function loadOfferedProfiles(
  o: Pick<GatewayOptions, 'profileFile' | 'mgmtProfileFile' | 'profileUri' | 'profileSha1'>,
): OfferedProfile[] {
  const out: OfferedProfile[] = [];
  const add = (serviceType: string, file: string, uri: string, sha1: string | null): void => {
    const body = readFileSync(file);
    const real = createHash('sha1').update(body).digest('hex');
    out.push({ serviceType, uri, path: pathOf(uri), sha1: (sha1 ?? real).toUpperCase(), body });
  };
  if (o.profileFile) add('user', o.profileFile, o.profileUri ?? '/CACHE/stc/profiles/lab.xml', o.profileSha1);
  if (o.mgmtProfileFile) add('vpn-mgmt', o.mgmtProfileFile, '/CACHE/stc/profiles/lab-mgmt.xml', null);
  return out;
}

/** The `<vpn-profile-manifest>` element for the success document's `<config>`, or '' when nothing is offered. */
export function manifestXml(offers: readonly OfferedProfile[]): string {
  if (offers.length === 0) return '';
  const files = offers
    .map(
      (p) =>
        `<file type="profile" service-type="${xmlEscape(p.serviceType)}">\n<uri>${xmlEscape(p.uri)}</uri>\n` +
        `<hash type="sha1">${p.sha1}</hash>\n</file>\n`,
    )
    .join('');
  return `<vpn-profile-manifest>\n<vpn rev="1.0">\n${files}</vpn>\n</vpn-profile-manifest>\n`;
}

/** The offer a GET of `target` asks for, or undefined. */
export function offerAt(offers: readonly OfferedProfile[], target: string): OfferedProfile | undefined {
  let path: string;
  try {
    path = pathOf(target);
  } catch {
    return undefined;
  }
  return offers.find((p) => p.path === path);
}
