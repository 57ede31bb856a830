/**
 * The profiles a gateway offers in its success document, and their download on the session the
 * login established (docs/protocol.md#profile-updates). This is the protocol half only: which
 * offer to take, whether the local policy allows it and where it goes are the caller's (the
 * agent's) decisions, and nothing here writes a file.
 */
import { addressFor, downloadProfile, type AuthOptions, type AuthResult, type ManifestEntry } from '@tandem/anyconnect';

/** What a manifest entry is for: the user tunnel's profile or the management tunnel's. */
export type ProfileOfferKind = 'user' | 'management';

/** One profile the gateway offers. */
export interface ProfileOffer {
  kind: ProfileOfferKind;
  /** SHA-1 of the file from the manifest, lower-case hex (checked before any download). */
  sha1: string;
  /** The URI as the gateway wrote it: for logs only, never a local path. */
  uri: string;
  /** The gateway host that offered it (after any redirect): the one the download goes to. */
  host: string;
  entry: ManifestEntry;
}

/**
 * The `service-type` of the management tunnel profile in a manifest. ASAs call the profile type
 * `vpn-mgmt`; that the manifest uses the same word is *unverified* (docs/protocol.md#unverified-against-asaftd).
 */
export const MANAGEMENT_SERVICE_TYPES: readonly string[] = ['vpn-mgmt'];

/** The offer kind of a manifest entry, or null for a service type Tandem does not install. */
export function offerKind(serviceType: string): ProfileOfferKind | null {
  const t = serviceType.trim().toLowerCase();
  if (t === 'user' || t === '') return 'user';
  return MANAGEMENT_SERVICE_TYPES.includes(t) ? 'management' : null;
}

/**
 * The offers of a manifest: the first entry of each kind with a well-formed SHA-1 (the rest of
 * a kind are ignored, as openconnect takes the first user profile).
 */
export function profileOffers(manifest: readonly ManifestEntry[], host: string): ProfileOffer[] {
  const out: ProfileOffer[] = [];
  for (const entry of manifest) {
    const kind = offerKind(entry.serviceType);
    if (kind === null || out.some((o) => o.kind === kind)) continue;
    if (!/^[0-9a-fA-F]{40}$/.test(entry.sha1)) continue;
    out.push({ kind, sha1: entry.sha1.toLowerCase(), uri: entry.uri.slice(0, 512), host, entry });
  }
  return out;
}

/**
 * Downloads an offer with the session cookie of `auth`, from the gateway that authenticated, on
 * a new connection checked exactly like the auth connections (same CA, pins, strictness and
 * client certificate). Resolves with the body only when its SHA-1 equals the manifest's.
 */
export function downloadOffer(
  options: AuthOptions,
  auth: AuthResult,
  offer: ProfileOffer,
  timeoutMs = 30_000,
): Promise<Buffer> {
  const address = addressFor(auth.gateway, options);
  return downloadProfile(offer.entry, {
    gateway: auth.gateway,
    cookie: auth.cookie,
    trust: options.trust,
    machine: options.machine,
    timeoutMs,
    ...(address ? { address } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.tlsGroups ? { tlsGroups: options.tlsGroups } : {}),
  });
}
