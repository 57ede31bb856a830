/**
 * The tray column: a user connecting by clicking Connect in the tray's window, against the same
 * warm tandemd as the agent column. The tray runs as in tray-real.test.ts (its harness, loaded
 * through apps/tray/scripts/harness.mjs): the built core in a child Node process as uid 65534
 * in tbn-cli (the agent's socket, root-owner check on), and the built window in Debian's
 * Chromium wired to it. Both are started once, before the first round, as a user's tray is
 * running long before they click. Timed from the click (one real mouse event through the
 * browser's input pipeline, at a position measured beforehand) to the first echo through the
 * tunnel (probe.mjs), like the other clients; also, on the page's own clock, from its click
 * event until it first says "Connected to …".
 * The packets are the agent's: throughput, CPU and memory are the agent column's.
 */
/* global window, document, MutationObserver -- the page functions below run in the window (Chromium) */
import { existsSync } from 'node:fs';
import { CLI_NS } from './lab.mjs';
import { startProber } from './clients.mjs';
import { waitRestored } from './agent.mjs';
import { loadHarness } from '../../apps/tray/scripts/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const HOST = 'Lab VPN';

/** Why the tray column cannot run, or null. */
export function trayUnavailable() {
  if (!existsSync(CHROMIUM)) return `needs ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
  if (!existsSync(new URL('../../apps/tray/dist/core/tray-app.js', import.meta.url))) return 'the tray is not built';
  return null;
}

/** Starts the tray (core as uid 65534 with an empty certificate store, window) on `agent`'s socket. */
export async function startTray(agent) {
  const { NOBODY, startRealTray, trayUser } = await loadHarness('real-tray.ts');
  const user = trayUser(NOBODY, {});
  try {
    const tray = await startRealTray({ socket: agent.socket, user, netns: CLI_NS });
    await tray.core.waitForView((v) => v.agent === 'up' && v.canConnect, 'the agent link', 20_000);
    const select = await tray.core.call('host.select', { host: HOST });
    if (!select.ok) throw new Error(`host.select: ${select.error.code} ${select.error.message}`);
    return { ...tray, user };
  } catch (err) {
    user.cleanup();
    throw err;
  }
}

/** The middle of a button, measured before the clock starts. */
async function centre(page, selector) {
  const button = page.locator(selector);
  await button.waitFor();
  for (let i = 0; i < 100 && !(await button.isEnabled()); i++) await page.waitForTimeout(50);
  const box = await button.boundingBox();
  if (!box) throw new Error(`${selector} is not on screen`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * Clicks Connect; resolves once a datagram through the tunnel has been answered, with the time
 * since the click (`connectMs`) and until the page said "Connected to …" (`shownMs`).
 */
export async function connectViaTray(tray) {
  const { page, core } = tray;
  const at = await centre(page, '#connect');
  const { probe, up } = await startProber();
  let off = () => {};
  try {
    const failed = new Promise((_, reject) => {
      off = core.onView((v) => {
        if (v.error) reject(new Error(`the tray shows ${v.error.code}: ${v.error.message}`));
      });
    });
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no reply through the tunnel within 30 s')), 30_000).unref(),
    );
    // "Shown" is timed in the page, on its own clock: from its click event to the DOM change.
    await page.evaluate(() => {
      const t = (window.__trayBench = {});
      document.getElementById('connect').addEventListener('click', () => (t.click = performance.now()), { once: true });
      const watch = new MutationObserver(() => {
        if (!/^Connected to /.test(document.getElementById('sentence')?.textContent ?? '')) return;
        t.shown = performance.now();
        watch.disconnect();
      });
      watch.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const t0 = process.hrtime.bigint();
    await page.mouse.click(at.x, at.y);
    const t1 = await Promise.race([up, failed, timeout]);
    const shown = page.waitForFunction(() => window.__trayBench.shown - window.__trayBench.click, null, {
      polling: 100,
      timeout: 30_000,
    });
    const shownMs = await (await Promise.race([shown, failed])).jsonValue();
    return { connectMs: Number(t1 - t0) / 1e6, shownMs };
  } catch (err) {
    await core.call('disconnect', {});
    throw new Error(`tray: ${err.message}\n--- tray core (tail) ---\n${core.log().slice(-2000)}`, { cause: err });
  } finally {
    off();
    probe.kill('SIGKILL');
  }
}

/** Clicks Disconnect; resolves once the page shows no user tunnel and tbn-cli is back to `baseline`. */
export async function disconnectViaTray(tray, baseline) {
  const { page, core } = tray;
  const at = await centre(page, '#disconnect');
  await page.mouse.click(at.x, at.y);
  await core.waitForView((v) => v.canConnect, 'Connect enabled again after Disconnect', 15_000);
  await waitRestored(baseline, 'the tray disconnected');
}

/** Stops the tray and removes the user's home. */
export async function stopTray(tray) {
  await tray.stop();
  tray.user.cleanup();
}
