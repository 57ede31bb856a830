/**
 * Interface, address and route changes, for trusted network detection (the engine re-evaluates
 * on "interface up/down, address, DNS or route changes"). `ip -o monitor` turns netlink
 * notifications into lines; each line is only a "something changed" signal, never parsed for
 * values, so nothing in it can steer the agent. Spawned by absolute path with an argv array
 * and the fixed child environment; restarted with a delay if it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@tandem/common';
import { childEnv } from '../environment.js';

const IP = '/usr/sbin/ip';
const RESTART_MS = 5000;

/** Follows netlink link/address/route events through `ip -o monitor`. */
export class LinkMonitor {
  private child: ChildProcess | null = null;
  private restart: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly onEvent: () => void,
    private readonly log: Logger,
  ) {}

  /** Starts the monitor process (idempotent). */
  start(): void {
    if (this.child || this.closed) return;
    const child = spawn(IP, ['-o', 'monitor', 'link', 'address', 'route'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    child.stdout!.on('data', () => this.onEvent());
    child.on('error', (err) => this.log.warn('ip monitor failed; link changes will be missed', { error: err.message }));
    child.on('exit', () => {
      this.child = null;
      if (this.closed) return;
      this.restart = setTimeout(() => {
        this.restart = null;
        this.start();
      }, RESTART_MS);
      this.restart.unref();
    });
  }

  /** Stops the monitor for good. */
  close(): void {
    this.closed = true;
    if (this.restart) clearTimeout(this.restart);
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}
