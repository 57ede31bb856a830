/**
 * "The host's network changed", as one debounced signal: netlink link, address and route events
 * (`ip -o monitor`) and writes to resolv.conf. The agent re-evaluates trusted network detection
 * and checks each tunnel's path on it; `tandem connect --foreground` checks its tunnel's path.
 * Each monitor line is only a signal, never parsed for values, so nothing in it can steer us.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@tandem/common';
import { ipBinary } from './iproute.js';
import { RESOLV_CONF } from './resolv.js';

/** Options of {@link NetworkWatch}. */
export interface NetworkWatchOptions {
  log: Logger;
  /** resolv.conf to watch; default /etc/resolv.conf. */
  resolvConf?: string;
  /** Follow link/address/route events through `ip monitor` (default true). */
  linkEvents?: boolean;
  /** Quiet time before a burst of events is reported once; default 300 ms. */
  debounceMs?: number;
}

const RESTART_MS = 5000;

/** See the module comment. Starts with {@link NetworkWatch.start}; {@link NetworkWatch.close} ends it for good. */
export class NetworkWatch {
  private readonly path: string;
  private monitor: ChildProcess | null = null;
  private restart: NodeJS.Timeout | null = null;
  private dirWatcher: FSWatcher | null = null;
  private fileWatcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly onChange: () => void,
    private readonly opts: NetworkWatchOptions,
  ) {
    this.path = opts.resolvConf ?? RESOLV_CONF;
  }

  /** Starts following (idempotent). */
  start(): void {
    if (this.closed) return;
    if (this.opts.linkEvents !== false) this.startMonitor();
    if (this.dirWatcher) return;
    this.watchFile();
    const name = basename(this.path);
    try {
      // resolv.conf is usually replaced by rename, which a watch on the file alone would miss.
      this.dirWatcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        this.watchFile();
        this.changed();
      });
      this.dirWatcher.on('error', (err) => this.opts.log.warn('resolv.conf watch failed', { error: err.message }));
    } catch (err) {
      this.opts.log.warn('cannot watch resolv.conf; DNS changes will be missed', { error: (err as Error).message });
    }
  }

  /** Stops following for good. */
  close(): void {
    this.closed = true;
    if (this.restart) clearTimeout(this.restart);
    this.restart = null;
    this.monitor?.kill('SIGTERM');
    this.monitor = null;
    this.dirWatcher?.close();
    this.dirWatcher = null;
    this.fileWatcher?.close();
    this.fileWatcher = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private startMonitor(): void {
    if (this.monitor || this.closed) return;
    let child: ChildProcess;
    try {
      child = spawn(ipBinary(), ['-o', 'monitor', 'link', 'address', 'route'], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (err) {
      this.opts.log.warn('cannot follow link changes', { error: (err as Error).message });
      return;
    }
    this.monitor = child;
    child.stdout!.on('data', () => this.changed());
    child.on('error', (err) =>
      this.opts.log.warn('ip monitor failed; link changes will be missed', { error: err.message }),
    );
    child.on('exit', () => {
      this.monitor = null;
      if (this.closed) return;
      this.restart = setTimeout(() => {
        this.restart = null;
        this.startMonitor();
      }, RESTART_MS);
      this.restart.unref();
    });
  }

  /**
   * The file itself is watched too: where resolv.conf is a bind mount (containers, `ip netns
   * exec`) a write lands on the mount source's inode, which the directory watch never hears of.
   * Re-armed after a rename replaced the file, since the watch follows the old inode.
   */
  private watchFile(): void {
    this.fileWatcher?.close();
    this.fileWatcher = null;
    if (this.closed) return;
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
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    // vpnc-script and resolvconf write in several steps; report once they settle.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.opts.debounceMs ?? 300);
  }
}
