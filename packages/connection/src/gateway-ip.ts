/**
 * The gateway's IP address, for the host route vpnc-script keeps outside the tunnel
 * (VPNGATEWAY): the `--resolve` address when the host has one, the host itself when it is an IP
 * literal, else one DNS lookup.
 */
import { lookup } from 'node:dns/promises';
import { ipLiteralVersion } from '@tandem/anyconnect';
import { ErrorCodes, TandemError } from '@tandem/common';

/** Resolves `host` (or takes `resolved`, from `addressFor`); a failed lookup is E_GATEWAY_UNREACHABLE. */
export async function gatewayAddress(host: string, resolved: string | undefined): Promise<string> {
  if (resolved) return resolved;
  if (ipLiteralVersion(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new TandemError(ErrorCodes.GATEWAY_UNREACHABLE, `cannot resolve ${host}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
