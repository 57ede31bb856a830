/**
 * The physical network as trusted network detection sees it (engine port NetworkObserver):
 * DNS domains and resolvers from resolv.conf. While a tunnel is up resolv.conf holds the VPN's
 * pushed DNS, which would make a corporate network look "trusted" and tear the machine tunnel
 * down in a loop; so while a journaled tunnel holds the file, the physical network's DNS is the
 * journal's pre-tunnel copy, or the live file when it was rewritten without the tunnel's resolvers
 * (a DHCP renewal under the tunnel; `physicalDns`). Changes are followed with `fs.watch` on the
 * directory (resolv.conf is usually replaced by rename, which a watch on the file itself would
 * miss) and with netlink events (link-monitor.ts), debounced into one notification.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@tandem/common';
import type { NetworkInfo, NetworkObserver } from '@tandem/engine';
import { parseResolvConf, physicalDns } from '@tandem/connection';
import { LinkMonitor } from './link-monitor.js';

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
  private watcher: FSWatcher | null = null;
  private fileWatcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private links: LinkMonitor | null = null;

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
    this.startWatch();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.close();
    };
  }

  /** Stops watching. */
  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.fileWatcher?.close();
    this.fileWatcher = null;
    this.links?.close();
    this.links = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private startWatch(): void {
    if (this.opts.linkEvents !== false && this.links === null) {
      this.links = new LinkMonitor(() => this.changed(), this.opts.log);
      this.links.start();
    }
    if (this.watcher) return;
    this.watchFile();
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        this.watchFile();
        this.changed();
      });
      this.watcher.on('error', (err) => this.opts.log.warn('resolv.conf watch failed', { error: err.message }));
    } catch (err) {
      this.opts.log.warn('cannot watch resolv.conf; network changes will be missed', { error: (err as Error).message });
    }
  }

  /**
   * The file itself is watched too: where resolv.conf is a bind mount (containers, `ip netns
   * exec`) a write lands on the mount source's inode, which the directory watch never hears of.
   * Re-armed after a rename replaced the file, since the watch follows the old inode.
   */
  private watchFile(): void {
    this.fileWatcher?.close();
    this.fileWatcher = null;
    try {
      this.fileWatcher = watch(this.path, { persistent: false }, (event) => {
        this.changed();
        if (event === 'rename') this.watchFile();
      });
      this.fileWatcher.on('error', () => this.fileWatcher?.close());
    } catch {
      // No file at the moment: the directory watch re-arms this when one appears.
    }
  }

  private changed(): void {
    if (this.timer) clearTimeout(this.timer);
    // vpnc-script and resolvconf write in several steps; report once they settle.
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const l of [...this.listeners]) l();
    }, this.opts.debounceMs ?? 300);
  }
}
