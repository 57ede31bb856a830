/**
 * The tray without Electron: the agent link, the user's signer, the prompt queue, the settings
 * and the notification policy composed into one object that publishes a {@link TrayView} on
 * every change and answers the window's bridge. The Electron glue (src/main) only draws what
 * this computes; the renderer tests run this very module in Node as their bridge.
 */
import { ErrorCodes, nullLogger, redactor, TandemError, type BackoffPolicy, type Logger } from '@tandem/common';
import type { StatusSnapshot } from '@tandem/contract';
import type { ReverseHandlers } from '@tandem/ipc/client';
import { createUserSigner, type UserSignerOptions } from '@tandem/signer';
import { createAgentLink, type AgentLink, type LinkSnapshot } from './agent-link.js';
import type { Locale, Message, TrayView } from './bridge.js';
import type { BridgeHandlers } from './bridge-host.js';
import { createBundleRunner } from './diag-bundle.js';
import { msg } from './i18n.js';
import { trayMenu, type MenuAction, type MenuItem } from './menu.js';
import { ExpiryNotifier, TunnelNotifier, type TrayNotification } from './notifications.js';
import { askSecret, chooseHandler, PromptQueue, promptHandler, SecretKeeper } from './prompts.js';
import type { SettingsStore } from './settings.js';
import { createTrayLog } from './tray-log.js';
import { trayView } from './view-model.js';

/** Options of {@link createTrayApp}. */
export interface TrayAppOptions {
  locale: Locale;
  socketPath: string;
  /** Reported to the agent in `hello`. */
  clientVersion: string;
  /** The tray's version, for a diagnostic bundle's manifest (default: `clientVersion` after its `/`). */
  version?: string;
  /** Facts only the glue knows (e.g. whether the desktop shows notifications), for a diagnostic bundle. */
  facts?: () => Record<string, string>;
  /** Development agents and tests only; see the agent link. */
  allowNonRootOwner?: boolean;
  settings: SettingsStore;
  /** Where diagnostic bundles go (resolved when one is built). */
  downloadsDir: () => Promise<string>;
  /** Where the user's certificates are (the signer's defaults otherwise). */
  signer?: Pick<UserSignerOptions, 'userDir' | 'pkcs11'>;
  linkPolicy?: BackoffPolicy;
  /** How often statistics are refreshed while shown (default 1 s). */
  statsIntervalMs?: number;
  /** How often the user's certificates are checked for expiry (default daily). */
  expiryIntervalMs?: number;
  now?: () => Date;
  logger?: Logger;
}

/** The running tray core. */
export interface TrayApp {
  /** The window's requests (pass to `handleBridge`). */
  readonly handlers: BridgeHandlers;
  /** The questions waiting for the user (the certificate picker hooks in here). */
  readonly prompts: PromptQueue;
  start(): void;
  stop(): Promise<void>;
  view(): TrayView;
  /** Called with every new view; returns the unsubscribe function. */
  onView(listener: (view: TrayView) => void): () => void;
  /** Called with every desktop notification the policy decides on. */
  onNotification(listener: (n: TrayNotification) => void): () => void;
  /** The window is shown or hidden (statistics are fetched only while it is visible). */
  setWindowVisible(visible: boolean): void;
  /** The tray menu for the current view. */
  menu(): MenuItem[];
  /**
   * Runs a menu action the core owns (connect, disconnect, diagnostic bundle); failures become
   * notifications. A bundle asked for while one is being built is ignored.
   */
  run(action: MenuAction): Promise<void>;
  /** Checks the user's certificates for expiry now (also run at start and daily). */
  checkCertificates(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** Whether this user's own tunnel is in `states`. */
function mineIn(status: StatusSnapshot | null, uid: number | null, ...states: string[]): boolean {
  if (!status) return false;
  const u = status.user;
  return (u.ownerUid === undefined || u.ownerUid === uid) && states.includes(u.status.state);
}

/** Builds the tray core; {@link TrayApp.start} connects to the agent. */
export function createTrayApp(opts: TrayAppOptions): TrayApp {
  const trayLog = createTrayLog(opts.logger ?? nullLogger);
  const logger = trayLog.logger.child('tray');
  const now = opts.now ?? (() => new Date());
  const secrets = new SecretKeeper();
  const prompts = new PromptQueue(secrets);
  const tunnelNotes = new TunnelNotifier();
  const expiryNotes = new ExpiryNotifier();
  const viewListeners = new Set<(v: TrayView) => void>();
  const noteListeners = new Set<(n: TrayNotification) => void>();
  let notice: Message | undefined;
  let stats: TrayView['stats'];
  let windowVisible = false;
  let statsTimer: NodeJS.Timeout | null = null;
  let statsBusy = false;
  let expiryTimer: NodeJS.Timeout | null = null;
  let reverseBusy = 0;
  let lastJson = '';
  let current: TrayView;

  const setNotice = (m: Message): void => {
    notice = m;
    publish();
  };
  const signerNotify = (line: string): void => {
    // The signer's diagnostics (an unreadable file, a locked token) are worth showing; the rest is routine.
    if (line.startsWith('warning: ')) setNotice(msg('notice.signerWarning', { detail: line.slice(9, 1000) }));
    else logger.info('signer', { note: line });
  };
  // Not the NSS database: in Electron's main process Chromium owns NSS's softoken, and a second
  // C_Initialize of it (ours before Chromium's) can make Chromium's own NSS start-up fail.
  // `tandem connect` reads it; the tray's store access in a process of its own is still to do.
  const signerOptions: Partial<UserSignerOptions> = { nssDb: null, ...opts.signer };
  const signer = createUserSigner({
    ...signerOptions,
    secret: askSecret(prompts, () => opts.locale),
    notify: signerNotify,
  });

  /** Typed secrets are forgotten once nothing may still use them: no reverse request, no sign-in. */
  const maybeRelease = (): void => {
    const s = link.snapshot();
    if (reverseBusy === 0 && !mineIn(s.status, s.uid, 'connecting', 'reconnecting')) secrets.releaseAll();
  };
  const tracked =
    <P, R>(fn: (p: P) => Promise<R>) =>
    async (p: P): Promise<R> => {
      reverseBusy++;
      try {
        return await fn(p);
      } finally {
        reverseBusy--;
        maybeRelease();
      }
    };
  const reverseHandlers: ReverseHandlers = {
    'certs.list': tracked(signer.handlers['certs.list']),
    'certs.sign': tracked(signer.handlers['certs.sign']),
    prompt: tracked(promptHandler(prompts)),
    'certs.choose': tracked(
      chooseHandler(prompts, {
        get: () => opts.settings.get().certificate,
        set: (certificate) => opts.settings.update({ certificate }),
      }),
    ),
  };

  const link: AgentLink = createAgentLink({
    socketPath: opts.socketPath,
    clientVersion: opts.clientVersion,
    reverseHandlers,
    ...(opts.allowNonRootOwner ? { allowNonRootOwner: true } : {}),
    ...(opts.linkPolicy ? { policy: opts.linkPolicy } : {}),
    logger,
  });

  const selectedHost = (s: LinkSnapshot): string | null => {
    const names = s.hosts.map((h) => h.name);
    const last = opts.settings.get().lastHost;
    if (last !== undefined && names.includes(last)) return last;
    if (s.defaultHost !== null && names.includes(s.defaultHost)) return s.defaultHost;
    return names[0] ?? null;
  };

  const compute = (): TrayView => {
    const s = link.snapshot();
    const prompt = prompts.current();
    return trayView({
      locale: opts.locale,
      agent: s.state,
      status: s.status,
      uid: s.uid,
      hosts: s.hosts,
      selectedHost: selectedHost(s),
      ...(stats ? { stats } : {}),
      ...(prompt ? { prompt } : {}),
      ...(notice ? { notice } : {}),
      ...(bundles.state() ? { diagnostics: bundles.state() } : {}),
    });
  };

  function publish(): void {
    current = compute();
    const json = JSON.stringify(current);
    if (json === lastJson) return;
    lastJson = json;
    for (const l of [...viewListeners]) l(current);
  }

  const wantStats = (): boolean => {
    const s = link.snapshot();
    return windowVisible && s.state === 'up' && mineIn(s.status, s.uid, 'connected');
  };
  const refreshStats = async (): Promise<void> => {
    if (statsBusy) return;
    statsBusy = true;
    try {
      const { sections } = await link.call('stats', {});
      if (wantStats()) {
        stats = sections;
        publish();
      }
    } catch (err) {
      logger.debug('stats failed', { error: (err as Error).message });
    } finally {
      statsBusy = false;
    }
  };
  /** Statistics are polled only while someone can see them. */
  const syncStats = (): void => {
    if (wantStats() && !statsTimer) {
      statsTimer = setInterval(() => void refreshStats(), opts.statsIntervalMs ?? 1000);
      void refreshStats();
    } else if (!wantStats() && statsTimer) {
      clearInterval(statsTimer);
      statsTimer = null;
      stats = undefined;
    }
  };

  const emit = (notes: readonly TrayNotification[]): void => {
    for (const n of notes) for (const l of [...noteListeners]) l(n);
  };

  const bundles = createBundleRunner({
    link,
    dir: opts.downloadsDir,
    records: trayLog.records,
    facts: () => {
      const s = link.snapshot();
      const u = s.status?.user;
      const mine = u !== undefined && (u.ownerUid === undefined || u.ownerUid === s.uid);
      return {
        version: opts.version ?? opts.clientVersion.slice(opts.clientVersion.lastIndexOf('/') + 1),
        clientVersion: opts.clientVersion,
        locale: opts.locale,
        windowVisible,
        agent: s.state,
        userTunnel: !u ? 'unknown' : mine ? u.status.state : "another user's",
        hosts: s.hosts.length,
        extra: opts.facts?.() ?? {},
      };
    },
    onChange: publish,
    notify: (n) => emit([n]),
    logger,
  });

  link.onChange((s) => {
    if (s.state === 'up' && s.status) emit(tunnelNotes.observe(s.status, s.uid));
    syncStats();
    maybeRelease();
    publish();
  });
  link.onDisconnect(() => {
    // Questions of a connection that is gone can no longer be answered to anyone.
    prompts.cancelAll();
    maybeRelease();
  });
  prompts.onChange(publish);

  const hostOfList = (host: string): string => {
    if (!link.snapshot().hosts.some((h) => h.name === host))
      throw new TandemError(ErrorCodes.IPC_PARAMS, 'not a host of the list');
    return host;
  };

  const checkCertificates = async (): Promise<void> => {
    // A signer of its own that never asks for a secret: a background check must not pop up a
    // PIN dialog at login, nor leave the real signer with a listing made without the PIN.
    const quiet = createUserSigner({
      ...signerOptions,
      secret: () => Promise.resolve(null),
      notify: (line) => logger.debug('expiry check', { note: line }),
    });
    try {
      const { certificates } = await quiet.handlers['certs.list']({ purpose: 'auth' });
      emit(expiryNotes.check(certificates, now()));
    } catch (err) {
      logger.warn('cannot check certificate expiry', { error: redactor.string((err as Error).message) });
    } finally {
      await quiet.close();
    }
  };

  const handlers: BridgeHandlers = {
    connect: async ({ host }) => {
      opts.settings.update({ lastHost: hostOfList(host) });
      publish();
      await link.call('connect', { host });
      return {};
    },
    'diagnostics.bundle': () => bundles.run(),
    disconnect: async () => {
      await link.call('disconnect', {});
      return {};
    },
    'host.select': async ({ host }) => {
      opts.settings.update({ lastHost: hostOfList(host) });
      publish();
      return {};
    },
    'prompt.answer': async ({ id, accepted, answer, remember }) => {
      prompts.answer(id, accepted, answer, remember);
      return {};
    },
    view: async () => current,
  };

  current = compute();
  lastJson = JSON.stringify(current);

  return {
    handlers,
    prompts,
    start() {
      link.start();
      if (expiryTimer) return;
      void checkCertificates();
      expiryTimer = setInterval(() => void checkCertificates(), opts.expiryIntervalMs ?? DAY_MS);
      expiryTimer.unref();
    },
    async stop() {
      if (expiryTimer) clearInterval(expiryTimer);
      expiryTimer = null;
      windowVisible = false;
      syncStats();
      prompts.cancelAll();
      await link.stop();
      await signer.close();
      secrets.releaseAll();
    },
    view: () => current,
    onView(listener) {
      viewListeners.add(listener);
      return () => viewListeners.delete(listener);
    },
    onNotification(listener) {
      noteListeners.add(listener);
      return () => noteListeners.delete(listener);
    },
    setWindowVisible(visible) {
      windowVisible = visible;
      syncStats();
      publish();
    },
    menu: () => trayMenu(current),
    async run(action) {
      try {
        if (action.kind === 'connect') await handlers.connect({ host: action.host });
        else if (action.kind === 'disconnect') await handlers.disconnect({});
        // The build notifies its own outcome; a click while one runs changes nothing.
        else if (action.kind === 'diagnostics' && !bundles.running()) await bundles.run().catch(() => undefined);
      } catch (err) {
        const message = redactor.string(err instanceof Error ? err.message : String(err)).slice(0, 1024);
        emit([{ title: msg('app.name'), body: msg('notify.actionFailed', { message }) }]);
      }
    },
    checkCertificates,
  };
}
