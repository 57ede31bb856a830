/**
 * The tray's window as a web page in Debian's Chromium: build it with Vite's JS API into a
 * temporary directory, serve that directory from 127.0.0.1 on an ephemeral port, and open it
 * with a bridge on `window.tandem` whose every request goes through the real `handleBridge`
 * (so validation and typed errors are the main process's own).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import type { TandemError } from '@tandem/common';
import { validate } from '@tandem/contract';
import { TrayView, type BridgeReply } from '../../src/core/bridge.js';
import { handleBridge, type BridgeHandlers } from '../../src/core/bridge-host.js';

// The browser globals the page functions below touch (the test program has no DOM lib).
declare const window: Record<string, unknown>;
declare const document: {
  documentElement: { lang: string };
  addEventListener(type: string, listener: (event: { violatedDirective: string; blockedURI: string }) => void): void;
};

/** Debian's Chromium (`.ci/run` installs it). */
export const CHROMIUM = '/usr/bin/chromium';
/** Why the window tests cannot run here, or null. */
export const chromiumMissing: string | null = existsSync(CHROMIUM)
  ? null
  : `needs ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
const TRAY = fileURLToPath(new URL('../../', import.meta.url));

/** Builds the window into `outDir`; returns the source modules the bundle contains (repo-relative to apps/tray). */
export async function buildWindow(outDir: string): Promise<string[]> {
  const result = await build({
    configFile: join(TRAY, 'vite.config.ts'),
    build: { outDir, emptyOutDir: true },
    logLevel: 'silent',
  });
  const outputs = Array.isArray(result) ? result : [result];
  const modules = new Set<string>();
  for (const out of outputs)
    if ('output' in out)
      for (const item of out.output) if (item.type === 'chunk') for (const id of item.moduleIds) modules.add(id);
  return [...modules].map((id) => (id.startsWith(TRAY) ? id.slice(TRAY.length) : id));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A static server for one directory on 127.0.0.1; `requests` lists every path asked for. */
export interface StaticServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** See {@link StaticServer}. Only files under `root` are served; anything else is a 404. */
export async function serveDirectory(root: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root + sep)) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Launches Debian's Chromium headless (the caller skips when it is missing). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=en-US'],
  });
}

/**
 * Puts a {@link TrayApi} on the page's `window.tandem` before any of its scripts run (call
 * before `goto`), as the preload does: `call` goes to `answer` in this process (the fake main
 * process, or the relay to a real one), and the returned function pushes a view to the page's
 * `onView` listeners. Also collects Content-Security-Policy violations in `__cspViolations`.
 */
export async function installBridge(
  page: Page,
  answer: (method: unknown, params: unknown) => Promise<BridgeReply>,
): Promise<(view: TrayView) => Promise<void>> {
  await page.exposeFunction('__tandemBridge', answer);
  await page.addInitScript(() => {
    type Listener = (view: unknown) => void;
    const listeners = new Set<Listener>();
    const send = window['__tandemBridge'] as (m: unknown, p: unknown) => Promise<unknown>;
    const api = {
      call: (method: unknown, params: unknown) => send(method, params),
      onView: (listener: Listener) => (listeners.add(listener), () => void listeners.delete(listener)),
    };
    Object.defineProperty(window, 'tandem', { value: Object.freeze(api) });
    Object.defineProperty(window, '__tandemPush', { value: (v: unknown) => listeners.forEach((l) => l(v)) });
    const violations: string[] = [];
    Object.defineProperty(window, '__cspViolations', { value: violations });
    document.addEventListener('securitypolicyviolation', (e) =>
      violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return async (view) => {
    await page.evaluate((v) => (window['__tandemPush'] as (v: unknown) => void)(v), view);
  };
}

/** One request as the page sent it, and (when it passed validation) as a handler received it. */
export interface Recorded {
  method: unknown;
  params: unknown;
}

/**
 * The fake main process: the real bridge host in front of recording handlers, and the current
 * view, which the test replaces with {@link FakeBridge.push}.
 */
export class FakeBridge {
  /** Every request the page sent, valid or not. */
  readonly sent: Recorded[] = [];
  /** The requests that passed validation, with their validated params. */
  readonly handled: Recorded[] = [];
  /** What `diagnostics.bundle` answers (the test pushes the views of its progress itself). */
  bundle = {
    path: '/home/user/Downloads/tandem-diag-host-3f9a1c2b-20261206T100000Z.zip',
    bundleId: 'DIAG-7ZPX-F1ZX',
    mapPath: '/home/user/Downloads/tandem-diag-host-3f9a1c2b-20261206T100000Z.redaction-map.json',
    audience: 'user' as const,
  };
  private page: Page | null = null;
  private send: ((view: TrayView) => Promise<void>) | null = null;

  constructor(private view: TrayView) {}

  private readonly handlers: BridgeHandlers = {
    view: () => this.record('view', {}, this.view),
    connect: (p) => this.record('connect', p, {}),
    disconnect: (p) => this.record('disconnect', p, {}),
    'host.select': (p) => this.record('host.select', p, {}),
    'prompt.answer': (p) => this.record('prompt.answer', p, {}),
    'diagnostics.bundle': (p) => this.record('diagnostics.bundle', p, this.bundle),
  };

  /** Requests that fail once with this error (as the agent's refusal would), by method. */
  readonly failOnce = new Map<string, TandemError>();

  private record<R>(method: string, params: unknown, result: R): Promise<R> {
    this.handled.push({ method, params });
    const failure = this.failOnce.get(method);
    this.failOnce.delete(method);
    return failure ? Promise.reject(failure) : Promise.resolve(result);
  }

  /** The handled requests named `method`, their params only. */
  paramsOf(method: string): unknown[] {
    return this.handled.filter((r) => r.method === method).map((r) => r.params);
  }

  /** Installs `window.tandem` in `page` (before any of its scripts run); call before `goto`. */
  async attach(page: Page): Promise<void> {
    this.page = page;
    this.send = await installBridge(page, (method, params) => {
      this.sent.push({ method, params });
      return handleBridge(this.handlers, method, params);
    });
  }

  /** Makes `view` current and sends it to the page, as the main process's `view` event would. */
  async push(view: TrayView): Promise<void> {
    const checked = validate(TrayView, view);
    if (!checked.ok) throw new Error(`the test built an invalid view: ${checked.issue}`);
    this.view = view;
    await this.send!(view);
  }
}

let axeSource: Promise<string> | undefined;

/** The serious and critical axe-core violations on the page, as "rule: target" lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(await axeSource);
  }
  return page.evaluate(async () => {
    type Result = { id: string; impact?: string; nodes: { target: unknown[] }[] };
    const axe = window['axe'] as { run(context: unknown): Promise<{ violations: Result[] }> };
    const { violations } = await axe.run(document);
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
}

/**
 * The built window, served and opened in one browser: what every window test needs, whatever
 * answers the bridge (the fake main process here, a real core in real-tray.ts).
 */
export class WindowHost {
  /** The built page's directory. */
  dir = '';
  /** The bundle's source modules (see {@link buildWindow}). */
  modules: string[] = [];
  server!: StaticServer;
  private browser!: Browser;
  private context!: BrowserContext;

  /** Builds (into a temporary directory), serves and launches; `viewport` fixes the window size. */
  async start(opts: { viewport?: { width: number; height: number } } = {}): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'tandem-window-'));
    this.modules = await buildWindow(this.dir);
    this.server = await serveDirectory(this.dir);
    this.browser = await launchChromium();
    this.context = await this.browser.newContext({
      locale: 'en-US',
      ...(opts.viewport ? { viewport: opts.viewport } : {}),
    });
  }

  /** A new page (not yet navigated: install the bridge, then `goto(server.url)`). */
  newPage(): Promise<Page> {
    return this.context.newPage();
  }

  /** Closes everything. */
  async stop(): Promise<void> {
    await this.browser?.close();
    await this.server?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Waits until the app in `page` has rendered a view in `locale`. */
export async function rendered(page: Page, locale: string): Promise<void> {
  await page.locator('#sentence').waitFor();
  await page.waitForFunction((l) => document.documentElement.lang === l, locale);
}

/**
 * One test file's window (see {@link WindowHost}); {@link WindowSession.open} gives each test a
 * fresh page with its own fake bridge.
 */
export class WindowSession extends WindowHost {
  private current: Page | undefined;

  /** A fresh page showing `view` once the app has rendered it (the previous page is closed). */
  async open(view: TrayView): Promise<{ page: Page; bridge: FakeBridge }> {
    await this.current?.close();
    const page = (this.current = await this.newPage());
    const bridge = new FakeBridge(view);
    await bridge.attach(page);
    await page.goto(this.server.url);
    await rendered(page, view.locale);
    return { page, bridge };
  }
}
