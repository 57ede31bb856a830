/**
 * The tray as a user runs it, minus Electron: its main-process core in a child Node process
 * (scripts/bridge-stdio.mjs: the built `createTrayApp` with the real agent socket, root-owner
 * check on) as an unprivileged uid with its own HOME and certificate store, and the built window
 * in Chromium whose `window.tandem` forwards every request to that child and receives every view
 * it publishes. Used by tray-real.test.ts, `npm run tray:screenshots` and the bench's tray column.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { BridgeReply, TrayView } from '../../src/core/bridge.js';
import { installBridge, rendered, WindowHost } from './window-harness.js';

const TRAY = fileURLToPath(new URL('../../', import.meta.url));
/** The child's entry point. */
export const BRIDGE_STDIO = join(TRAY, 'scripts/bridge-stdio.mjs');
/** The unprivileged user the real-lab runs use (nobody). */
export const NOBODY = 65534;

/** Compiles the tray's core (`dist/core`, which the child runs); quick when nothing changed. */
export function ensureTrayBuilt(): void {
  execFileSync('npx', ['tsc', '-b', 'apps/tray'], { cwd: join(TRAY, '../..'), stdio: 'pipe' });
}

/** An unprivileged user's home: `XDG_CONFIG_HOME/tandem/certs` holds their PEM files. */
export interface TrayUser {
  uid: number;
  home: string;
  /** The user's certificate store directory. */
  certs: string;
  /** HOME, XDG_CONFIG_HOME and XDG_DOWNLOAD_DIR for this user. */
  env: Record<string, string>;
  cleanup(): void;
}

/**
 * A temporary home owned by `uid` (mode 0700), with each of `pems` (file name → certificate,
 * chain and key in PEM) in the user's store at mode 0600, as the user would have put them there.
 */
export function trayUser(uid: number, pems: Record<string, string>): TrayUser {
  const home = mkdtempSync(join(tmpdir(), 'tandem-tray-home-'));
  const config = join(home, '.config');
  const certs = join(config, 'tandem', 'certs');
  const downloads = join(home, 'Downloads');
  mkdirSync(certs, { recursive: true });
  mkdirSync(downloads);
  for (const dir of [home, config, join(config, 'tandem'), certs, downloads]) {
    chownSync(dir, uid, uid);
    chmodSync(dir, 0o700);
  }
  for (const [name, pem] of Object.entries(pems)) {
    writeFileSync(join(certs, name), pem, { mode: 0o600 });
    chownSync(join(certs, name), uid, uid);
  }
  return {
    uid,
    home,
    certs,
    env: { HOME: home, XDG_CONFIG_HOME: config, XDG_DOWNLOAD_DIR: downloads },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** How to start a {@link TrayCore}. */
export interface TrayCoreOptions {
  /** tandemd's socket (root's). */
  socket: string;
  user: TrayUser;
  /** Run inside this network namespace (where the agent runs), as a user's session would. */
  netns?: string;
  /** The OS locale the core picks its language from (default en_US.UTF-8). */
  lang?: string;
  /** PATH for the child (default: this Node's directory and the system's). */
  path?: string;
}

/** The tray's core in its child process, spoken to over its stdio bridge. */
export class TrayCore {
  /** Every view the core published, oldest first. */
  readonly views: TrayView[] = [];
  /** Every desktop notification it decided on. */
  readonly notifications: Array<{ title: unknown; body: unknown }> = [];
  private readonly pending = new Map<number, (reply: BridgeReply) => void>();
  private readonly listeners = new Set<(view: TrayView) => void>();
  private nextId = 1;
  private err = '';
  readonly exited: Promise<number | string>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.on('data', (d: Buffer) => (this.err = (this.err + d.toString()).slice(-50_000)));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    void this.exited.then(() => {
      for (const answer of this.pending.values())
        answer({ ok: false, error: { code: 'E_IPC_CLOSED', message: 'the tray core exited' } });
      this.pending.clear();
    });
  }

  /** Starts the child as `user.uid` (setpriv, no supplementary groups) and waits for its first view. */
  static async start(opts: TrayCoreOptions): Promise<TrayCore> {
    const u = opts.user.uid;
    const argv = ['setpriv', `--reuid=${u}`, `--regid=${u}`, '--clear-groups', process.execPath, BRIDGE_STDIO];
    const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
    const child = spawn(cmd!, args, {
      cwd: '/',
      env: {
        PATH: opts.path ?? `${join(process.execPath, '..')}:/usr/sbin:/usr/bin:/sbin:/bin`,
        LANG: opts.lang ?? 'en_US.UTF-8',
        TANDEM_SOCKET: opts.socket,
        ...opts.user.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const core = new TrayCore(child);
    await core.waitForView(() => true, 'the first view', 20_000);
    return core;
  }

  private onLine(line: string): void {
    let msg: { id?: number; reply?: BridgeReply; view?: TrayView; notification?: { title: unknown; body: unknown } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.err += `\n(not JSON on stdout) ${line}`;
      return;
    }
    if (msg.view) {
      this.views.push(msg.view);
      for (const l of [...this.listeners]) l(msg.view);
    }
    if (msg.notification) this.notifications.push(msg.notification);
    if (msg.id !== undefined && msg.reply) {
      this.pending.get(msg.id)?.(msg.reply);
      this.pending.delete(msg.id);
    }
  }

  /** The latest view. */
  view(): TrayView {
    return this.views.at(-1)!;
  }

  /** The child's log (stderr), for failure messages. */
  log(): string {
    return this.err;
  }

  /** One window request, answered by the core's bridge host. */
  call(method: unknown, params: unknown): Promise<BridgeReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        return resolve({ ok: false, error: { code: 'E_IPC_CLOSED', message: 'the tray core exited' } });
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  /** Calls `listener` with every new view; returns the unsubscribe function. */
  onView(listener: (view: TrayView) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Resolves with the first view (the latest or a later one) matching `pred`. */
  waitForView(pred: (view: TrayView) => boolean, what: string, ms = 30_000): Promise<TrayView> {
    const latest = this.views.at(-1);
    if (latest && pred(latest)) return Promise.resolve(latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(
            `tray: ${what} not reached; last view ${JSON.stringify(this.views.at(-1))}\n${this.err.slice(-3000)}`,
          ),
        );
      }, ms);
      const off = this.onView((v) => {
        if (!pred(v)) return;
        clearTimeout(timer);
        off();
        resolve(v);
      });
    });
  }

  /** Stops the core (stdin closes: it stops its link and signer and exits). */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(killer);
  }
}

/**
 * A page of `host` wired to `core`: `window.tandem.call` goes to the child, every view the child
 * publishes is pushed to the page. Resolves once the app has rendered.
 */
export async function openRealWindow(host: WindowHost, core: TrayCore): Promise<Page> {
  const page = await host.newPage();
  const push = await installBridge(page, (method, params) => core.call(method, params));
  // A view pushed while the page navigates is lost, but the app asks for the current one at start.
  const off = core.onView((view) => void push(view).catch(() => undefined));
  page.once('close', off);
  await page.goto(host.server.url);
  await rendered(page, core.view().locale);
  return page;
}

/** The tray running: its core in the child, the window in Chromium wired to it. */
export interface RealTray {
  host: WindowHost;
  core: TrayCore;
  page: Page;
  /** Closes the page and the browser, stops the core. */
  stop(): Promise<void>;
}

/** Starts a {@link TrayCore} and opens the built window on it (`viewport`: the window's size). */
export async function startRealTray(
  opts: TrayCoreOptions & { viewport?: { width: number; height: number } },
): Promise<RealTray> {
  const host = new WindowHost();
  let core: TrayCore | undefined;
  const stop = async (): Promise<void> => {
    await core?.stop();
    await host.stop();
  };
  try {
    await host.start(opts.viewport ? { viewport: opts.viewport } : {});
    core = await TrayCore.start(opts);
    const page = await openRealWindow(host, core);
    return { host, core, page, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A prompt the window showed during a connect. */
export type ShownPrompt = 'certificate' | 'banner';

/** How {@link connectInWindow} answers the window's dialogs. */
export interface ConnectPlan {
  /** The accessible name of the certificate to pick in the picker (its subject, issuer, …). */
  certificate: RegExp;
  banner: 'accept' | 'decline';
  /** How many dialogs to expect (the lab's MCA gateway with a banner: 2). */
  prompts: number;
  /** Called with each dialog as shown, before it is answered (the screenshots hook in here). */
  onPrompt?: (kind: ShownPrompt) => Promise<void>;
}

/**
 * Clicks Connect (for the host the picker shows) and answers each dialog as the user would, by
 * its visible labels; returns the dialogs in the order they came.
 */
export async function connectInWindow(page: Page, plan: ConnectPlan): Promise<ShownPrompt[]> {
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  const shown: ShownPrompt[] = [];
  const picker = page.getByRole('dialog', { name: 'Choose a certificate' });
  const banner = page.getByRole('dialog', { name: 'Message from the VPN server' });
  while (shown.length < plan.prompts) {
    await picker.or(banner).waitFor({ timeout: 30_000 });
    const kind: ShownPrompt = (await picker.count()) > 0 ? 'certificate' : 'banner';
    shown.push(kind);
    await plan.onPrompt?.(kind);
    if (kind === 'certificate') {
      await picker.getByRole('radio', { name: plan.certificate }).check();
      await picker.getByRole('button', { name: 'Use this certificate' }).click();
      await picker.waitFor({ state: 'detached' });
    } else {
      await banner.getByRole('button', { name: plan.banner === 'accept' ? 'Accept' : 'Decline' }).click();
      await banner.waitFor({ state: 'detached' });
    }
  }
  return shown;
}

/** The statistics' byte counters as the page shows them. */
export async function bytesInWindow(page: Page): Promise<{ sent: number; received: number }> {
  const table = page.getByRole('table', { name: 'Bytes' });
  const cell = async (row: RegExp) => Number(await table.getByRole('row', { name: row }).getByRole('cell').innerText());
  return { sent: await cell(/Sent/), received: await cell(/Received/) };
}
