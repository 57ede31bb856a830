/**
 * The tray core against a scripted agent, as tray-app.test.ts and tray-bundle.test.ts use it: a
 * temporary home (settings, downloads), the core started and up, every view and notification
 * recorded, and everything undone by the caller's cleanups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrayView } from '../../src/core/bridge.js';
import { handleBridge } from '../../src/core/bridge-host.js';
import type { TrayNotification } from '../../src/core/notifications.js';
import { SettingsStore } from '../../src/core/settings.js';
import { createTrayApp, type TrayApp } from '../../src/core/tray-app.js';
import { allowNonRootOwner, startScriptedAgent, until, type ScriptedAgent } from '../scripted-agent.js';

/** One running core and its agent. */
export interface Rig {
  agent: ScriptedAgent;
  app: TrayApp;
  views: TrayView[];
  notes: TrayNotification[];
  settings: SettingsStore;
  /** The user's downloads directory (not created: the core creates it when it needs it). */
  downloads: string;
}

/** Starts a rig whose signer reads `userDir`; its teardown goes onto `cleanups` (run last first). */
export async function startRig(userDir: string, cleanups: Array<() => Promise<void> | void>): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tray-app-'));
  const downloads = join(dir, 'Downloads');
  const agent = await startScriptedAgent();
  const settings = new SettingsStore(join(dir, 'config', 'tandem', 'tray.json'));
  const app = createTrayApp({
    locale: 'en',
    socketPath: agent.path,
    clientVersion: 'tandem-tray/0.1.0-test',
    allowNonRootOwner,
    settings,
    downloadsDir: async () => downloads,
    signer: { userDir },
    linkPolicy: { initialMs: 20, factor: 2, maxMs: 100, jitter: 0 },
    statsIntervalMs: 50,
  });
  const views: TrayView[] = [];
  const notes: TrayNotification[] = [];
  app.onView((v) => views.push(v));
  app.onNotification((n) => notes.push(n));
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => agent.cleanup(),
    () => app.stop(),
  );
  app.start();
  await until(() => app.view().agent === 'up', 'tray up');
  return { agent, app, views, notes, settings, downloads };
}

/** One window request through the real bridge host. */
export const call = (app: TrayApp, method: unknown, params: unknown) => handleBridge(app.handlers, method, params);
