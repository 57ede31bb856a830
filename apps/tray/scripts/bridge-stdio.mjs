#!/usr/bin/env node
/**
 * The tray's main process without Electron, for the real-lab tests, the screenshots and the
 * bench: the built core (`dist/core`, composed by `createTrayApp` exactly as `main/app.ts` does
 * it, from the same environment variables: TANDEM_SOCKET, LANG, XDG_CONFIG_HOME for the settings
 * and the user's certificate store, XDG_DOWNLOAD_DIR) with its bridge relayed over stdio as JSON
 * lines instead of Electron's IPC:
 *
 *   stdin   {"id": n, "method": "...", "params": {...}}    a window request (answered by handleBridge)
 *   stdout  {"id": n, "reply": BridgeReply}                 its reply
 *   stdout  {"view": TrayView}                              every view the core publishes (first: the current one)
 *   stdout  {"notification": {title, body}}                 every desktop notification the policy decides on
 *
 * Run it as the user whose tray it is (the tests use uid 65534): the agent checks the kernel
 * credentials of this process, and the agent's socket must be root's (no --allow-non-root-agent).
 * The window counts as shown (statistics are polled), as after a normal start. Logs go to stderr.
 * Exits on SIGTERM/SIGINT or when stdin closes, after stopping the core.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createLogger, textSink } from '@tandem/common';
import { socketFromEnv } from '@tandem/contract';
import { handleBridge } from '../dist/core/bridge-host.js';
import { downloadsDirFrom } from '../dist/core/downloads.js';
import { pickLocale } from '../dist/core/i18n.js';
import { SettingsStore, settingsPathFrom } from '../dist/core/settings.js';
import { createTrayApp } from '../dist/core/tray-app.js';

const env = process.env;
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const logger = createLogger({ level: env['TANDEM_TRAY_LOG'] === 'debug' ? 'debug' : 'info', sinks: [textSink()] });

const core = createTrayApp({
  locale: pickLocale(env['LANG']),
  socketPath: socketFromEnv(env),
  clientVersion: 'tandem-tray/bridge-stdio',
  version,
  facts: () => ({ 'Desktop notifications': 'relayed as JSON lines (bridge-stdio, no Electron)' }),
  settings: new SettingsStore(settingsPathFrom(env), logger),
  downloadsDir: () => downloadsDirFrom(env),
  logger,
});
core.onView((view) => out({ view }));
core.onNotification((notification) => out({ notification }));
out({ view: core.view() });
core.setWindowVisible(true);
core.start();

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    logger.warn('not a JSON request line');
    return;
  }
  void handleBridge(core.handlers, req.method, req.params).then((reply) => out({ id: req.id, reply }));
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void core.stop().finally(() => process.exit(0));
};
lines.on('close', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
