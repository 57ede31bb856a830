/**
 * The screenshots of `npm run tray:screenshots`, taken from the same real run as
 * tray-real.test.ts (real tandemd, ocserv, the lab gateway, the core as uid 65534, the built page
 * in Chromium): the machine tunnel at start, disconnected (the administrator switches the machine
 * tunnel off, then on again), the certificate picker, the banner, connected with statistics
 * after some traffic, and the error of a declined banner. Loaded by scripts/screenshots.mjs
 * through Vite's module runner, so it is the test harness itself, not a copy.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { TrayLab } from './real-lab.js';
export { realLabMissing } from './real-lab.js';
import { bytesInWindow, connectInWindow, startRealTray, type RealTray } from './real-tray.js';

/** The window size of every screenshot (CSS pixels, device scale 1). */
export const VIEWPORT = { width: 560, height: 640 };

/** The files written, in the order of the walk. */
export const SHOTS = ['machine-tunnel', 'disconnected', 'certificate-picker', 'banner', 'connected', 'error'] as const;

/** Runs the walk and writes `<out>/tray-<shot>.png`; `say` reports progress. Returns the paths. */
export async function takeScreenshots(out: string, say: (line: string) => void): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const lab = new TrayLab();
  let tray: RealTray | undefined;
  let page: Page | undefined;
  const written: string[] = [];
  const shot = async (name: (typeof SHOTS)[number]): Promise<void> => {
    const path = join(out, `tray-${name}.png`);
    // Let a dialog's opening and focus ring settle, and the caret stop mattering.
    await page!.waitForTimeout(300);
    // The connected window scrolls (every vpncli section): take the whole page there.
    await page!.screenshot({ path, animations: 'disabled', caret: 'hide', fullPage: name === 'connected' });
    written.push(path);
    say(`wrote ${path}`);
  };
  const until = async (selector: string, want: string | RegExp): Promise<void> => {
    const end = Date.now() + 30_000;
    for (;;) {
      const got = await page!
        .locator(selector)
        .innerText()
        .catch(() => '');
      if (typeof want === 'string' ? got === want : want.test(got)) return;
      if (Date.now() > end)
        throw new Error(`${selector} is ${JSON.stringify(got)}, not ${String(want)}\n${tray?.core.log()}`);
      await page!.waitForTimeout(100);
    }
  };
  try {
    say('starting the lab (namespaces, ocserv, lab gateway, tandemd)…');
    await lab.start();
    tray = await startRealTray({ socket: lab.scratch.socket, user: lab.user, netns: lab.lab.cli, viewport: VIEWPORT });
    page = tray.page;

    await until('#management', 'Connected');
    await shot('machine-tunnel');

    await lab.admin('machineTunnel.disable');
    await until('#sentence', 'Not connected.');
    await shot('disconnected');
    await lab.admin('machineTunnel.enable');
    await until('#management', 'Connected');

    await connectInWindow(page, {
      certificate: /CN=bob/,
      banner: 'accept',
      prompts: 2,
      onPrompt: (kind) => shot(kind === 'certificate' ? 'certificate-picker' : 'banner'),
    });
    await until('#sentence', /^Connected to /);
    await page.getByRole('table', { name: 'Bytes' }).waitFor();
    const before = await bytesInWindow(page);
    await lab.ping(5, 1000);
    const end = Date.now() + 10_000;
    while ((await bytesInWindow(page)).received < before.received + 5000 && Date.now() < end)
      await page.waitForTimeout(200);
    await shot('connected');

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await until('#management', 'Connected');
    await connectInWindow(page, { certificate: /CN=alice/, banner: 'decline', prompts: 2 });
    await until('.error-code', 'Error code: E_BANNER_DECLINED');
    await shot('error');
    return written;
  } finally {
    await tray?.stop();
    await lab.stop();
  }
}
