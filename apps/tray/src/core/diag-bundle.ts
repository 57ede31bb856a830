/**
 * "Create diagnostic bundle" in the tray: the same builder as `tandem diag bundle`
 * (`buildBundle` from @tandem/diagnostics), run as the user into the user's downloads directory,
 * always redacted, with the tray's own part (its recent log and a page of facts). One build at a
 * time: a request while one runs waits for that one. Its phases and outcome are state the view
 * shows; the outcome is also a desktop notification.
 */
import { mkdir } from 'node:fs/promises';
import { ErrorCodes, isTandemError, redactor, type LogRecord, type Logger } from '@tandem/common';
import { buildBundle, type CallerFile, type DiagnosticsLink } from '@tandem/diagnostics';
import type { BridgeResult, DiagnosticsView } from './bridge.js';
import { msg } from './i18n.js';
import type { TrayNotification } from './notifications.js';

/** What the tray says about itself in its part of the bundle. */
export interface TrayFacts {
  version: string;
  /** As reported in `hello`, e.g. `tandem-tray/0.1.0`. */
  clientVersion: string;
  locale: string;
  windowVisible: boolean;
  agent: string;
  /** This user's tunnel state as the tray last saw it (`idle`, `connected`, …). */
  userTunnel: string;
  hosts: number;
  /** What the glue adds (e.g. whether the desktop shows notifications). */
  extra: Record<string, string>;
}

/** Options of {@link createBundleRunner}. */
export interface BundleRunnerOptions {
  link: DiagnosticsLink;
  /** The user's downloads directory (created 0700 when missing). */
  dir: () => Promise<string>;
  facts: () => TrayFacts;
  /** The tray's recent log records, for `client/tray.log`. */
  records: () => LogRecord[];
  /** Called after every change of {@link BundleRunner.state}. */
  onChange: () => void;
  notify: (n: TrayNotification) => void;
  logger: Logger;
}

/** The result of one build, as the bridge returns it. */
export type BundleOutcome = BridgeResult<'diagnostics.bundle'>;

/** The tray's bundle builder. */
export interface BundleRunner {
  /** The build in progress, or the last one's outcome; undefined before the first. */
  state(): DiagnosticsView | undefined;
  running(): boolean;
  /** Starts a build, or joins the one in progress; rejects (after notifying) when it fails. */
  run(): Promise<BundleOutcome>;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** `client/tray.txt`: the versions and the state of this tray. */
export function trayText(f: TrayFacts): string {
  const v = process.versions;
  return [
    `Tandem tray ${f.version} (${f.clientVersion})`,
    `Electron ${v['electron'] ?? 'none (core run without Electron)'}, Chromium ${v['chrome'] ?? 'none'}, Node ${process.version}`,
    `Platform ${process.platform} ${process.arch}, uid ${process.getuid?.() ?? 'unknown'}`,
    `Locale ${f.locale}`,
    `Window shown ${yesNo(f.windowVisible)}`,
    `Agent link ${f.agent}`,
    `User tunnel ${f.userTunnel}`,
    `Hosts in the profiles ${f.hosts}`,
    ...Object.entries(f.extra).map(([k, val]) => `${k} ${val}`),
    '',
  ].join('\n');
}

/** The lines the tray appends to the agent's summary.txt. */
export function traySummary(f: TrayFacts): string {
  return [
    'This side (the Tandem tray, as the user):',
    `  tandem-tray ${f.version}, uid ${process.getuid?.() ?? 'unknown'}, Electron ${process.versions['electron'] ?? 'none'}, Node ${process.version}, locale ${f.locale}`,
    `  window shown: ${yesNo(f.windowVisible)}, agent link: ${f.agent}, user tunnel: ${f.userTunnel}`,
  ].join('\n');
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

type Failure = Omit<Extract<DiagnosticsView, { phase: 'failed' }>, 'phase'>;

/** The failure as the view and the notification show it: a known code, redacted text. */
function failureOf(err: unknown): Failure {
  const code = isTandemError(err) && KNOWN_CODES.has(err.code) ? (err.code as Failure['code']) : ErrorCodes.INTERNAL;
  const text = err instanceof Error ? err.message : String(err);
  return { code, message: redactor.string(text).slice(0, 1024) };
}

/** See {@link BundleRunner}. */
export function createBundleRunner(opts: BundleRunnerOptions): BundleRunner {
  let state: DiagnosticsView | undefined;
  let current: Promise<BundleOutcome> | null = null;
  const set = (next: DiagnosticsView): void => {
    state = next;
    opts.onChange();
  };

  const callerFiles = async (): Promise<CallerFile[]> => [
    {
      path: 'client/tray.log',
      collector: 'tray',
      data: opts
        .records()
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    },
    { path: 'client/tray.txt', collector: 'tray', data: trayText(opts.facts()) },
  ];

  const build = async (): Promise<BundleOutcome> => {
    set({ phase: 'collecting' });
    opts.logger.info('creating a diagnostic bundle');
    try {
      const dir = await opts.dir();
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const facts = opts.facts();
      const built = await buildBundle({
        link: opts.link,
        toolVersion: facts.version,
        dir,
        redact: true,
        callerFiles,
        callerSummary: traySummary(facts),
        onProgress: (p) => {
          if (p.phase !== 'done') set(p);
        },
      });
      const mapPath = built.mapPath ?? undefined;
      set({ phase: 'done', path: built.path, bundleId: built.bundleId, ...(mapPath ? { mapPath } : {}) });
      opts.logger.info('diagnostic bundle saved', { bundleId: built.bundleId, audience: built.audience });
      opts.notify({
        title: msg('notify.diagnosticsTitle'),
        body: msg('notify.diagnosticsSaved', { id: built.bundleId, path: built.path.slice(0, 1024) }),
      });
      return { path: built.path, bundleId: built.bundleId, ...(mapPath ? { mapPath } : {}), audience: built.audience };
    } catch (err) {
      const failure = failureOf(err);
      set({ phase: 'failed', ...failure });
      opts.logger.warn('cannot create the diagnostic bundle', { code: failure.code, error: failure.message });
      opts.notify({ title: msg('notify.diagnosticsTitle'), body: msg('notify.diagnosticsFailed', failure) });
      throw err;
    }
  };

  return {
    state: () => state,
    running: () => current !== null,
    run() {
      current ??= build().finally(() => (current = null));
      return current;
    },
  };
}
