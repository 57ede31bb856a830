/**
 * The engine's Always-On `Firewall` port on nftables (@tandem/tunnel's fail-closed table). The
 * engine names gateways by URL and AllowedHosts as the profile has them (names, addresses,
 * CIDR ranges); the block needs addresses, so each name is resolved here (a `--resolve`
 * override or an IP literal first, else DNS), and the addresses last seen are kept: once the
 * block stands, a failed lookup must not take a gateway or an allowed host out of it. The local
 * LAN of a split policy becomes the networks of the host's interfaces.
 */
import { normalizeAddress, parseDnsName, parsePrefix, type Logger } from '@tandem/common';
import type { BlockRequest, Firewall, SplitRouting } from '@tandem/engine';
import {
  installFailClosed,
  readFailClosedRecord,
  removeFailClosed,
  type BlockedGateway,
  type BlockSpec,
} from '@tandem/connection';
import { hostAddresses } from './host-addresses.js';
import { localNetworks } from './local-networks.js';

/** Options of {@link FailClosedFirewall}. */
export interface FailClosedOptions {
  journalDir: string;
  /** `--resolve HOST:IP` overrides (host names lower-case). */
  resolve: ReadonlyMap<string, string>;
  log: Logger;
  /** The local LAN's networks of a family, leaving out the tunnel's interface (tests replace it). */
  localNetworks?: (family: 4 | 6, tunnel: string | undefined) => string[];
}

/** Always-On's block as nftables rules, with host names resolved and remembered. */
export class FailClosedFirewall implements Firewall {
  private readonly known = new Map<string, string[]>();
  private readonly refused = new Set<string>();
  private installed: boolean;

  constructor(private readonly o: FailClosedOptions) {
    // A block left by a crashed agent stays until the engine decides (see always-on.ts).
    this.installed = readFailClosedRecord(o.journalDir) !== null;
  }

  /** See {@link Firewall.apply}. */
  async apply(block: BlockRequest | null): Promise<void> {
    if (block === null) {
      if (!this.installed) return;
      await removeFailClosed(this.o.journalDir);
      this.installed = false;
      this.o.log.info('Always-On block removed');
      return;
    }
    const [gateways, allowed] = await Promise.all([
      Promise.all(block.gateways.map((url) => this.gatewayAddresses(url))).then((g) => g.flat()),
      this.allowedAddresses(block.allowedHosts ?? []),
    ]);
    const outside = block.outside ? this.outsideSpec(block.outside, block.tunnel) : undefined;
    await installFailClosed(this.o.journalDir, {
      gateways,
      ...(block.tunnel ? { tunnel: block.tunnel } : {}),
      ...(outside ? { outside } : {}),
      ...(allowed.length > 0 ? { allowed } : {}),
      ...(block.portal ? { portal: block.portal } : {}),
    });
    if (!this.installed)
      this.o.log.info('Always-On block in place', { gateways: gateways.length, allowedHosts: allowed.length });
    this.installed = true;
  }

  private outsideSpec(split: SplitRouting, tunnel: string | undefined): BlockSpec['outside'] {
    const lan = this.o.localNetworks ?? localNetworks;
    const family = (f: 4 | 6) => {
      const s = f === 4 ? split.ipv4 : split.ipv6;
      return s && { include: s.include, exclude: [...s.exclude, ...(s.localLan ? lan(f, tunnel) : [])] };
    };
    const ipv4 = family(4);
    const ipv6 = family(6);
    return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
  }

  /** AllowedHosts as addresses and networks; an entry that is none of name, address or range is skipped. */
  private async allowedAddresses(entries: readonly string[]): Promise<string[]> {
    const each = await Promise.all(
      entries.map(async (entry): Promise<string[]> => {
        const range = entry.includes('/') ? parsePrefix(entry) : null;
        if (range) return [`${range.address}/${range.prefix}`];
        const address = normalizeAddress(entry);
        if (address) return [address.address];
        if (!entry.includes('/') && parseDnsName(entry)) return this.lookup(entry.toLowerCase(), 'allowed host');
        if (!this.refused.has(entry)) {
          this.refused.add(entry);
          this.o.log.warn('AllowedHosts entry is not a host name, address or CIDR range; skipped', { entry });
        }
        return [];
      }),
    );
    return [...new Set(each.flat())];
  }

  private async gatewayAddresses(url: string): Promise<BlockedGateway[]> {
    let host: string;
    let port: number;
    try {
      const u = new URL(url);
      host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      port = u.port ? Number(u.port) : 443;
    } catch {
      return [];
    }
    return (await this.lookup(host, 'gateway')).map((address) => ({ address, port }));
  }

  /** The addresses of `host` now, or those last seen when the lookup fails. */
  private async lookup(host: string, what: 'gateway' | 'allowed host'): Promise<string[]> {
    try {
      const addresses = await hostAddresses(host, this.o.resolve);
      this.known.set(host, addresses);
      return addresses;
    } catch (err) {
      const addresses = this.known.get(host) ?? [];
      this.o.log.warn(`${what} lookup for the Always-On block failed; using the addresses last seen`, {
        host,
        known: addresses.length,
        error: err instanceof Error ? err.message : String(err),
      });
      return addresses;
    }
  }
}
