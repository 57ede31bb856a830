/**
 * The facade most callers need: `openTunnel` = CONNECT with the cookie of an
 * {@link authenticate} result, then a running {@link CstpSession}.
 */
import type { AuthOptions, AuthResult } from './auth-flow.js';
import { connectCstp, type CstpChannel } from './cstp-connect.js';
import { CstpSession } from './cstp-session.js';

/** An open tunnel: its configuration and the live session. */
export interface OpenTunnel {
  channel: CstpChannel;
  session: CstpSession;
}

/**
 * Opens the tunnel for an authenticated session, with the same trust and credentials (and on
 * the auth phase's connection when both were given the same `connections` cache).
 */
export async function openTunnel(
  auth: Pick<AuthResult, 'cookie' | 'gateway'>,
  opts: Pick<AuthOptions, 'address' | 'ca' | 'trust' | 'machine' | 'tlsGroups' | 'log' | 'connections'> & {
    baseMtu?: number;
    previousAddresses?: string[];
    timeoutMs?: number;
    /** Offer DTLS in CONNECT (default true). */
    dtls?: boolean;
  },
): Promise<OpenTunnel> {
  const channel = await connectCstp({
    gateway: auth.gateway,
    cookie: auth.cookie,
    address: opts.address,
    ca: opts.ca,
    trust: opts.trust,
    machine: opts.machine,
    tlsGroups: opts.tlsGroups,
    baseMtu: opts.baseMtu,
    previousAddresses: opts.previousAddresses,
    timeoutMs: opts.timeoutMs,
    connections: opts.connections,
    dtls: opts.dtls,
  });
  return { channel, session: new CstpSession(channel, { log: opts.log }) };
}
