/**
 * Which gateway URL a `connect` request means. A host from the profiles' server list (by name,
 * address or URL) is always allowed; anything else only when the default profile allows manual
 * host input and no Always-On profile is in force (Always-On allows no host outside the
 * profiles: docs/profile.md#trusted-network-detection-and-always-on).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { MergedProfiles } from '@tandem/profile';

/** A host name, IPv4 address or bracketed IPv6 address, with an optional port. */
const MANUAL_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The group path of a manual URL as typed: segments of URL-safe characters, no `.`/`..`
 * segments and no percent-encoding (a URL parser would resolve those before anyone sees them).
 */
const GROUP_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9_~.-]*)*\/?$/;

function manualAllowed(merged: MergedProfiles): boolean {
  const init = merged.defaultPreferences().clientInitialization;
  const policy = init.automaticVpnPolicy;
  return init.allowManualHostInput.value && !(policy.enabled && policy.alwaysOn.enabled);
}

/** Resolves `host`/`url` to the URL handed to the engine; throws E_USAGE / E_PERMISSION. */
export function resolveConnectTarget(merged: MergedProfiles, request: { host?: string; url?: string }): string {
  if (request.host !== undefined && request.url !== undefined)
    throw new TandemError(ErrorCodes.USAGE, 'give either a host or a URL, not both');
  const wanted = request.host ?? request.url;
  if (wanted === undefined) {
    const first = merged.hosts[0];
    if (!first) throw new TandemError(ErrorCodes.USAGE, 'no host given and no profile defines one');
    return first.url;
  }
  const known = merged.preferencesForHost(wanted).host;
  if (known) return known.url;
  if (!manualAllowed(merged)) {
    throw new TandemError(
      ErrorCodes.PERMISSION,
      `${wanted.slice(0, 200)} is not in the profiles' server list and the profile does not allow other hosts`,
    );
  }
  if (request.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(request.url);
    } catch {
      throw new TandemError(ErrorCodes.USAGE, 'not a valid https URL');
    }
    if (
      parsed.protocol !== 'https:' ||
      parsed.username ||
      parsed.password ||
      parsed.search ||
      parsed.hash ||
      !MANUAL_HOST.test(parsed.host) ||
      !GROUP_PATH.test(/^https:\/\/[^/?#]*(.*)$/i.exec(request.url)?.[1] || '/')
    ) {
      throw new TandemError(
        ErrorCodes.USAGE,
        'the URL must be https://host[:port][/group] with a plain host name or address and no credentials, query, fragment or dot segments',
      );
    }
    return `https://${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  }
  if (!MANUAL_HOST.test(wanted))
    throw new TandemError(ErrorCodes.USAGE, `not a host name or address: ${wanted.slice(0, 200)}`);
  return `https://${wanted}`;
}
