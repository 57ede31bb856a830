/**
 * Gateway URLs: `https://host[:port][/group]`. The path doubles as the AnyConnect "group URL"
 * (tunnel-group alias), which is how a profile's `UserGroup` reaches the gateway.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCodes, TandemError } from '@tandem/common';

/** A parsed gateway URL. */
export interface GatewayUrl {
  /** Normalised URL, also sent as `<group-access>`. */
  url: string;
  host: string;
  port: number;
  /** `Host` header value (`:port` only when not 443). */
  hostHeader: string;
  /** Request path for the first POST (`/` or `/group`). */
  path: string;
  /** The group alias from the path, if any. */
  group?: string;
}

/** Parses and checks a gateway URL (https only; bare host names get `https://`). */
export function describeGatewayUrl(input: string): GatewayUrl {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `https://${input}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new TandemError(ErrorCodes.USAGE, `not a gateway URL: ${input}`);
  }
  if (u.protocol !== 'https:') throw new TandemError(ErrorCodes.USAGE, `gateway URL must use https: ${input}`);
  if (u.username || u.password) throw new TandemError(ErrorCodes.USAGE, 'gateway URL must not contain credentials');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 443;
  const path = u.pathname || '/';
  const group = path.replace(/^\/+|\/+$/g, '') || undefined;
  return {
    url: u.toString(),
    host,
    port,
    hostHeader: port === 443 ? u.hostname : `${u.hostname}:${port}`,
    path,
    group,
  };
}

/**
 * 4 or 6 for an IP literal, 0 for a host name, like `net.isIP`, but a name without ':' never
 * reaches Node's IPv6 pattern, whose first use compiles a regular expression for ~3 ms — a
 * tenth of the time a whole connect spends on the main thread outside TLS.
 */
export function ipLiteralVersion(host: string): 0 | 4 | 6 {
  if (isIPv4(host)) return 4;
  return host.includes(':') && isIPv6(host) ? 6 : 0;
}
