/**
 * The engine's Always-On `Firewall` port on nftables (@tandem/tunnel's fail-closed table). The
 * engine names gateways by URL; the block needs addresses, so each host is resolved here (a
 * `--resolve` override or an IP literal first, else DNS), and the addresses last seen are kept:
 * once the block stands, a failed lookup must not take a gateway out of it.
 */
import type { Logger } from '@tandem/common';
import type { BlockRequest, Firewall } from '@tandem/engine';
import { installFailClosed, readFailClosedRecord, removeFailClosed, type BlockedGateway } from '@tandem/connection';
import { hostAddresses } from './host-addresses.js';

/** Options of {@link FailClosedFirewall}. */
export interface FailClosedOptions {
  journalDir: string;
  /** `--resolve HOST:IP` overrides (host names lower-case). */
  resolve: ReadonlyMap<string, string>;
  log: Logger;
}

/** Always-On's block as nftables rules, with the gateways' addresses resolved and remembered. */
export class FailClosedFirewall implements Firewall {
  private readonly known = new Map<string, string[]>();
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
    const gateways = (await Promise.all(block.gateways.map((url) => this.addressesOf(url)))).flat();
    await installFailClosed(this.o.journalDir, {
      gateways,
      ...(block.tunnel ? { tunnel: block.tunnel } : {}),
      ...(block.portal ? { portal: block.portal } : {}),
    });
    if (!this.installed) this.o.log.info('Always-On block in place', { gateways: gateways.length });
    this.installed = true;
  }

  private async addressesOf(url: string): Promise<BlockedGateway[]> {
    let host: string;
    let port: number;
    try {
      const u = new URL(url);
      host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      port = u.port ? Number(u.port) : 443;
    } catch {
      return [];
    }
    let addresses: string[];
    try {
      addresses = await hostAddresses(host, this.o.resolve);
      this.known.set(host, addresses);
    } catch (err) {
      addresses = this.known.get(host) ?? [];
      this.o.log.warn('gateway lookup for the Always-On block failed; using the addresses last seen', {
        host,
        known: addresses.length,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    return addresses.map((address) => ({ address, port }));
  }
}
