/**
 * What a tunnel adds, worked out the same way for the Windows and macOS backends: the routes
 * into the tunnel (the full-tunnel halves or the split includes), whether every DNS query goes to
 * the tunnel, and the context a step that changes the host must have (the interface, a journal).
 */
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ConfiguratorContext } from './configurator.js';
import type { HostChanges } from './host-changes.js';
import type { NetworkConfig } from './network-config.js';

/** A destination prefix. */
export interface Prefix {
  family: 4 | 6;
  destination: string;
  prefix: number;
}

/** Two halves that together cover everything, each more specific than a default route. */
const HALVES: Record<4 | 6, Prefix[]> = {
  4: [
    { family: 4, destination: '0.0.0.0', prefix: 1 },
    { family: 4, destination: '128.0.0.0', prefix: 1 },
  ],
  6: [
    { family: 6, destination: '::', prefix: 1 },
    { family: 6, destination: '8000::', prefix: 1 },
  ],
};

/** True when this family's traffic all goes into the tunnel (an address and no include, or a /0 include). */
export function isFullTunnel(config: NetworkConfig, family: 4 | 6): boolean {
  const has = family === 4 ? config.ipv4 !== undefined : config.ipv6 !== undefined;
  const include = family === 4 ? config.include4 : config.include6;
  return has && (include.length === 0 || include.some((p) => p.prefix === 0));
}

/** The routes into the tunnel, IPv4 first: the two halves for a full tunnel, else the includes. */
export function tunnelPrefixes(config: NetworkConfig): Prefix[] {
  const out: Prefix[] = [];
  for (const family of [4, 6] as const) {
    const has = family === 4 ? config.ipv4 !== undefined : config.ipv6 !== undefined;
    if (!has) continue;
    if (isFullTunnel(config, family)) {
      out.push(...HALVES[family]);
      continue;
    }
    for (const p of family === 4 ? config.include4 : config.include6)
      out.push({ family, destination: p.address, prefix: p.prefix });
  }
  return out;
}

/** Every DNS query goes to the tunnel's servers when any family is fully tunnelled. */
export function wantsAllDns(config: NetworkConfig): boolean {
  return isFullTunnel(config, 4) || isFullTunnel(config, 6);
}

/**
 * The tunnel interface and the journal a step needs before it may change anything; a configurator
 * run outside a NetworkSession (no journal) is refused rather than left unrecoverable.
 */
export function tunnelOf(
  ctx: ConfiguratorContext,
  step: string,
): { tunDevice: string; journal: (changes: HostChanges) => void } {
  if (!ctx.tunDevice) throw new TandemError(ErrorCodes.NETCONFIG, `${step} needs the tunnel interface name`);
  if (!ctx.journal)
    throw new TandemError(
      ErrorCodes.NETCONFIG,
      `${step} changes the host only with a journal (run it in a NetworkSession)`,
    );
  return { tunDevice: ctx.tunDevice, journal: ctx.journal };
}
