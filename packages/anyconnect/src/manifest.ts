/**
 * The profile manifest of a successful auth (docs/protocol.md#profile-updates): download the advertised
 * profile with the session cookie and check its SHA-1 against the manifest. The bytes go back
 * to the caller; this package never writes them anywhere (installing a profile is the agent's
 * decision, after its own validation).
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, TandemError } from '@tandem/common';
import { USER_AGENT } from './auth-flow.js';
import type { ManifestEntry } from './config-auth.js';
import { exchange } from './http.js';
import type { GatewaySessionOptions } from './cstp-connect.js';
import { openGatewayConnection } from './tls-connect.js';

/** Largest profile accepted (real profiles are a few KiB; the HTTP cap is 256 KiB). */
export const MAX_PROFILE_BYTES = 128 * 1024;

/** Where and how to download. */
export interface ManifestDownloadOptions extends GatewaySessionOptions {
  timeoutMs?: number;
}

/** The entry openconnect uses: the first `type="profile"` file for `service-type="user"`. */
export function userProfileEntry(manifest: readonly ManifestEntry[]): ManifestEntry | null {
  return manifest.find((m) => m.serviceType === 'user' || m.serviceType === '') ?? null;
}

/** True when the SHA-1 of `body` equals the manifest hash (hex, any case). */
export function manifestHashMatches(body: Buffer, sha1: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(sha1) && createHash('sha1').update(body).digest('hex') === sha1.toLowerCase();
}

/**
 * Downloads one manifest entry from the gateway host (never another host) and returns the
 * exact body after the hash check.
 */
export async function downloadProfile(entry: ManifestEntry, opts: ManifestDownloadOptions): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(entry.uri, opts.gateway.url);
  } catch {
    throw new TandemError(ErrorCodes.PROTOCOL, 'profile manifest URI is not a URL');
  }
  if (url.protocol !== 'https:' || url.host !== new URL(opts.gateway.url).host) {
    throw new TandemError(
      ErrorCodes.PROTOCOL,
      `profile manifest points to another host (${url.host}); refusing to download`,
    );
  }
  if (!/^[0-9a-fA-F]{40}$/.test(entry.sha1))
    throw new TandemError(ErrorCodes.PROTOCOL, 'profile manifest entry has no SHA-1 hash');
  const conn = await openGatewayConnection(
    {
      host: opts.gateway.host,
      port: opts.gateway.port,
      address: opts.address,
      ca: opts.ca,
      trust: opts.trust,
      tlsGroups: opts.tlsGroups,
    },
    opts.machine,
  );
  try {
    const headers: Array<[string, string]> = [
      ['Host', opts.gateway.hostHeader],
      ['User-Agent', USER_AGENT],
      ['Accept', '*/*'],
      ['Accept-Encoding', 'identity'],
      ['X-Transcend-Version', '1'],
      ['Cookie', `webvpn=${opts.cookie}`],
    ];
    const res = await exchange(
      conn.socket,
      { method: 'GET', path: `${url.pathname}${url.search}`, headers },
      opts.timeoutMs ?? 30_000,
    );
    if (res.status !== 200)
      throw new TandemError(
        ErrorCodes.PROTOCOL,
        `profile download answered HTTP ${res.status} ${res.reason.slice(0, 80)}`,
      );
    if (res.body.length > MAX_PROFILE_BYTES)
      throw new TandemError(ErrorCodes.PROTOCOL, `profile larger than ${MAX_PROFILE_BYTES} bytes`);
    if (!manifestHashMatches(res.body, entry.sha1)) {
      throw new TandemError(
        ErrorCodes.PROTOCOL,
        `downloaded profile does not match the manifest SHA-1 ${entry.sha1.toUpperCase()}`,
      );
    }
    return res.body;
  } finally {
    conn.socket.destroy();
  }
}
