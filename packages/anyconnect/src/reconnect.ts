/**
 * Reconnecting with the session cookie (docs/protocol.md#reconnect): a new TLS connection with the same client
 * credentials and a CONNECT that asks for the previous lease (X-CSTP-Address). No XML auth.
 * A 401 means the gateway dropped the session: the caller must authenticate again (for the
 * machine tunnel that needs no user, for a user tunnel it may need a prompt), so that outcome
 * is a typed result rather than an exception.
 */
import { isTandemError, ErrorCodes, type IpAddress, type TandemError } from '@tandem/common';
import { connectCstp, type ConnectOptions, type CstpChannel } from './cstp-connect.js';
import type { TunnelConfig } from './tunnel-config.js';

/** What a reconnect attempt produced. */
export type ReconnectResult =
  { kind: 'connected'; channel: CstpChannel; sameAddress: boolean } | { kind: 'reauthenticate'; error: TandemError };

/** The addresses to ask for again: the previous IPv4 and IPv6 leases. */
export function previousLease(config: Pick<TunnelConfig, 'ipv4' | 'ipv6'>): IpAddress[] {
  return [config.ipv4?.address, config.ipv6?.address].filter((a): a is IpAddress => a !== undefined);
}

/**
 * Re-opens the tunnel with the cookie. Returns `reauthenticate` when the gateway refused the
 * cookie; every other failure (unreachable, timeout, trust, protocol) is thrown so the caller's
 * backoff policy decides (openconnect: 10 s steps up to 100 s, 300 s in total).
 */
export async function reconnectCstp(
  opts: Omit<ConnectOptions, 'previousAddresses'>,
  previous: Pick<TunnelConfig, 'ipv4' | 'ipv6'>,
): Promise<ReconnectResult> {
  const lease = previousLease(previous);
  try {
    const channel = await connectCstp({ ...opts, previousAddresses: lease });
    const now = previousLease(channel.config);
    return { kind: 'connected', channel, sameAddress: lease.every((a) => now.includes(a)) };
  } catch (err) {
    if (isTandemError(err, ErrorCodes.COOKIE_REJECTED)) return { kind: 'reauthenticate', error: err };
    throw err;
  }
}
