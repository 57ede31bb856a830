/**
 * The physical network as trusted network detection sees it (engine port NetworkObserver):
 * DNS domains and resolvers from resolv.conf. While a tunnel is up resolv.conf holds the VPN's
 * pushed DNS, which would make a corporate network look "trusted" and tear the machine tunnel
 * down in a loop; so while a journaled tunnel holds the file, the physical network's DNS is the
 * journal's pre-tunnel copy, or the live file when it was rewritten without the tunnel's resolvers
 * (a DHCP renewal under the tunnel; `physicalDns`). Changes come from `NetworkWatch` (netlink
 * events and resolv.conf writes, debounced into one notification).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '@tandem/common';
import type { NetworkInfo, NetworkObserver } from '@tandem/engine';
import { NetworkWatch, parseResolvConf, physicalDns } from '@tandem/connection';

/** Options of {@link ResolvConfObserver}. */
export interface ResolvObserverOptions {
  resolvConf?: string;
  journalDir: string;
  debounceMs?: number;
  /** Also follow interface/address/route changes through `ip monitor` (default true). */
  linkEvents?: boolean;
  log: Logger;
}

/** NetworkObserver over resolv.conf and the tunnel journal. */
export class ResolvConfObserver implements NetworkObserver {
  private readonly path: string;
  private readonly listeners = new Set<() => void>();
  private watch: NetworkWatch | null = null;

  constructor(private readonly opts: ResolvObserverOptions) {
    this.path = opts.resolvConf ?? '/etc/resolv.conf';
  }

  /** See {@link NetworkObserver.current}: null when there is neither a file nor a journal. */
  current(): NetworkInfo | null {
    try {
      return physicalDns(this.opts.journalDir, this.path);
    } catch (err) {
      this.opts.log.debug('network journal unreadable for TND; using resolv.conf', { error: (err as Error).message });
    }
    try {
      return parseResolvConf(readFileSync(this.path, 'utf8'));
    } catch {
      return null;
    }
  }

  /** See {@link NetworkObserver.onChange}; the watch starts with the first listener. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.watch === null) {
      this.watch = new NetworkWatch(() => [...this.listeners].forEach((l) => l()), {
        log: this.opts.log,
        resolvConf: this.path,
        ...(this.opts.linkEvents === undefined ? {} : { linkEvents: this.opts.linkEvents }),
        ...(this.opts.debounceMs === undefined ? {} : { debounceMs: this.opts.debounceMs }),
      });
      this.watch.start();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  /** Stops watching. */
  close(): void {
    this.watch?.close();
    this.watch = null;
  }
}
