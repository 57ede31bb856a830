/**
 * Loads a module of the tray's TypeScript test harness (apps/tray/test/lib) into a plain Node
 * script, for `npm run tray:screenshots` and the bench's tray column: Vite's module runner with
 * the repository's test configuration (workspace packages from their sources, as under vitest),
 * so those scripts run the very harness the tests run instead of a copy of it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TRAY = fileURLToPath(new URL('../', import.meta.url));
const ROOT = join(TRAY, '../..');

/**
 * The exports of `apps/tray/test/lib/<name>` (e.g. 'screenshots.ts').
 * @param {string} name
 * @returns {Promise<Record<string, any>>}
 */
export async function loadHarness(name) {
  const { runnerImport } = await import('vite');
  const { module } = await runnerImport(join(TRAY, 'test/lib', name), {
    configFile: join(ROOT, 'vitest.config.ts'),
    logLevel: 'silent',
  });
  return module;
}
