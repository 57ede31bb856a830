/**
 * The tray's window in Debian's Chromium against a fake main process whose request handling is
 * the real bridge host: the bundle and its CSP, every state, the controls, the diagnostic bundle's
 * progress and outcome, keyboard use, the four languages, dark mode, axe-core, and typed errors
 * for what a hostile page may send.
 * (The prompts are in renderer-prompts.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { titled } from '@tandem/testkit';
import type { Locale, TrayView } from '../src/core/bridge.js';
import { CATALOGS } from '../src/core/i18n.js';
import { axeViolations, chromiumMissing, WindowSession } from './lib/window-harness.js';
import { STATES, withPrompt, type StateName } from './lib/window-views.js';

// The browser globals the page functions below touch (the test program has no DOM lib).
declare const window: Record<string, unknown>;
declare const document: {
  documentElement: { lang: string };
  activeElement: { id: string; closest(selector: string): unknown } | null;
  body: unknown;
};
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const session = new WindowSession();
const open = (view = STATES.disconnected()) => session.open(view);
const text = (page: Page, selector: string) => page.locator(selector).innerText();
const csp = (page: Page) => page.evaluate(() => window['__cspViolations'] as string[]);

describe.skipIf(chromiumMissing)(titled('tray window (renderer) in Chromium', chromiumMissing), () => {
  beforeAll(() => session.start());
  afterAll(() => session.stop());

  it('bundles only the window, the catalogues and Preact, under a strict CSP with no inline code', async () => {
    const foreign = session.modules.filter(
      (m) =>
        !/^src\/renderer\//.test(m) &&
        !/^src\/core\/(i18n|catalog\/\w+)\.ts$/.test(m) &&
        !/node_modules\/preact\//.test(m),
    );
    expect(foreign).toEqual([]);
    expect(session.modules).toContain('src/core/catalog/ko.ts');
    const html = await readFile(join(session.dir, 'index.html'), 'utf8');
    expect(html).toContain(
      `content="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"`,
    );
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('shows every state: icon, sentence, error code, buttons, management line, statistics; axe-clean', async () => {
    const { page, bridge } = await open();
    const expected: Record<StateName, { icon: string; sentence: string; connect: boolean; disconnect: boolean }> = {
      agentDown: { icon: 'Error', sentence: 'The Tandem service is not running', connect: false, disconnect: false },
      agentConnecting: { icon: 'Not connected', sentence: 'Contacting the Tandem', connect: false, disconnect: false },
      disconnected: { icon: 'Not connected', sentence: 'Not connected.', connect: true, disconnect: false },
      management: {
        icon: 'Management tunnel up',
        sentence: 'management tunnel to mgmt.example.com is up',
        connect: true,
        disconnect: false,
      },
      trusted: { icon: 'Trusted network', sentence: 'On a trusted network', connect: true, disconnect: false },
      connecting: { icon: 'Connecting', sentence: 'Connecting to vpn.example.com', connect: false, disconnect: true },
      reconnecting: { icon: 'Connecting', sentence: 'Reconnecting (attempt 2)', connect: false, disconnect: true },
      connected: { icon: 'Connected', sentence: 'Connected to vpn.example.com.', connect: false, disconnect: true },
      error: { icon: 'Error', sentence: 'no certificate matches the profile', connect: true, disconnect: false },
      otherUser: { icon: 'Connected', sentence: 'Another user', connect: false, disconnect: false },
    };
    for (const [name, want] of Object.entries(expected) as [StateName, (typeof expected)[StateName]][]) {
      await bridge.push(STATES[name]());
      await expect.poll(() => text(page, '#sentence'), { message: name }).toContain(want.sentence);
      expect(await page.getByRole('img').getAttribute('aria-label'), name).toBe(want.icon);
      expect(await page.locator('#connect').isEnabled(), name).toBe(want.connect);
      expect(await page.locator('#disconnect').isEnabled(), name).toBe(want.disconnect);
      expect(await page.locator('.error-code').count(), name).toBe(name === 'error' ? 1 : 0);
      expect(await page.getByRole('table').count(), name).toBe(name === 'connected' ? 5 : 0);
      expect(await axeViolations(page), name).toEqual([]);
    }
    await bridge.push(STATES.error());
    expect(await text(page, '.error-code')).toBe('Error code: E_CERT_NOT_FOUND');
    await bridge.push(STATES.connected());
    expect(await text(page, '#management')).toBe('Disconnected (user tunnel active)');
    const bytes = page.getByRole('table', { name: 'Bytes' });
    expect(
      await bytes
        .getByRole('row', { name: /Received/ })
        .getByRole('cell')
        .innerText(),
    ).toBe('123456');
    expect(await page.getByRole('rowheader', { name: 'Cipher' }).count()).toBe(1);
    await bridge.push(STATES.management());
    expect(await text(page, '#management')).toBe('Connected');
    expect(await csp(page)).toEqual([]);
  });

  it('host picker, Connect, Disconnect and Create diagnostic bundle send the right requests', async () => {
    const { page, bridge } = await open();
    expect(await page.getByLabel('Server').inputValue()).toBe('Corp VPN');
    await page.getByLabel('Server').selectOption('Corp VPN (Asia)');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await bridge.push(STATES.connected({ selectedHost: 'Corp VPN (Asia)' }));
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('button', { name: 'Create diagnostic bundle' }).click();
    await expect.poll(() => bridge.paramsOf('diagnostics.bundle')).toEqual([{}]);
    expect(bridge.handled.map((r) => [r.method, r.params]).filter(([m]) => m !== 'view')).toEqual([
      ['host.select', { host: 'Corp VPN (Asia)' }],
      ['connect', { host: 'Corp VPN' }],
      ['disconnect', {}],
      ['diagnostics.bundle', {}],
    ]);
    // The picker shows what the view says: the main side decides the selection.
    expect(await page.getByLabel('Server').inputValue()).toBe('Corp VPN (Asia)');
  });

  it('diagnostic bundle: the progress line while it runs (button waiting), then the saved id, path and map note; axe-clean', async () => {
    const { page, bridge } = await open();
    const status = () => text(page, '#bundle-status');
    const button = page.getByRole('button', { name: 'Create diagnostic bundle' });
    expect(await status()).toBe('');
    expect(await button.isEnabled()).toBe(true);
    const steps: Array<[NonNullable<TrayView['diagnostics']>, string]> = [
      [{ phase: 'collecting' }, 'Creating the diagnostic bundle: collecting the service’s part…'],
      [{ phase: 'receiving', done: 2, total: 5 }, 'Creating the diagnostic bundle: received 2 of 5 files…'],
      [{ phase: 'writing' }, 'Creating the diagnostic bundle: adding this app’s log and writing the archive…'],
    ];
    for (const [diagnostics, line] of steps) {
      await bridge.push(STATES.disconnected({ diagnostics }));
      await expect.poll(status, { message: diagnostics.phase }).toBe(line);
      expect(await button.isEnabled(), diagnostics.phase).toBe(false);
      expect(await axeViolations(page), diagnostics.phase).toEqual([]);
    }
    const { path, bundleId, mapPath } = bridge.bundle;
    await bridge.push(STATES.disconnected({ diagnostics: { phase: 'done', path, bundleId, mapPath } }));
    await expect.poll(() => text(page, '#bundle-saved')).toBe(`Saved ${bundleId} to ${path}.`);
    expect(await status()).toContain(`Keep ${mapPath} for yourself`);
    expect(await button.isEnabled()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await bridge.push(
      STATES.disconnected({ diagnostics: { phase: 'failed', code: 'E_IPC_LIMIT', message: 'one at a time' } }),
    );
    await expect
      .poll(status)
      .toBe('The diagnostic bundle could not be created: one at a time (error code E_IPC_LIMIT)');
    expect(await page.locator('#bundle-status .failure').count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    // Without the agent there is nothing to collect.
    await bridge.push(STATES.agentDown());
    expect(await button.isEnabled()).toBe(false);
    expect(await csp(page)).toEqual([]);
  });

  it('keyboard only: Tab to Connect and Enter; Space on Disconnect; focus returns after a dialog', async () => {
    const { page, bridge } = await open();
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    for (let i = 0; i < 5 && (await focused()) !== 'connect'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('connect');
    await page.keyboard.press('Enter');
    await expect.poll(() => bridge.paramsOf('connect')).toEqual([{ host: 'Corp VPN' }]);
    await bridge.push(STATES.connecting());
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('disconnect');
    await page.keyboard.press('Space');
    await expect.poll(() => bridge.paramsOf('disconnect')).toEqual([{}]);

    await bridge.push(STATES.connecting({ prompt: { kind: 'banner', id: 7, text: 'Authorised use only.' } }));
    await expect.poll(() => page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
    // Tab stays inside the modal dialog.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => bridge.paramsOf('prompt.answer')).toEqual([{ id: 7, accepted: false }]);
    await bridge.push(STATES.connecting());
    await expect.poll(focused).toBe('disconnect');
  });

  const KEYS = Object.keys(CATALOGS.en);
  const KEYLIKE = /\b(?:app|state|mgmt|menu|tray|window|prompt|notify|icon)\.[a-zA-Z]+\b/;
  for (const locale of ['en', 'de', 'ja', 'ko'] as Locale[]) {
    it(`${locale}: every state and a dialog in the language, lang set, no raw catalogue key`, async () => {
      const { page, bridge } = await open();
      const seen: string[] = [];
      const states = Object.keys(STATES) as StateName[];
      for (const name of states) {
        await bridge.push(STATES[name]({ locale }));
        await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe(locale);
        seen.push(await page.locator('body').innerText());
        seen.push(
          ...(await page.locator('[aria-label]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!))),
        );
      }
      const { path, bundleId, mapPath } = bridge.bundle;
      for (const diagnostics of [
        { phase: 'receiving', done: 1, total: 3 },
        { phase: 'done', path, bundleId, mapPath },
      ] as const) {
        await bridge.push(STATES.disconnected({ locale, diagnostics }));
        await expect.poll(() => text(page, '#bundle-status')).toContain(diagnostics.phase === 'done' ? bundleId : '3');
        seen.push(await page.locator('body').innerText());
      }
      await bridge.push(withPrompt({ kind: 'banner', id: 1, text: 'Hello' }, locale));
      await page.getByRole('dialog').waitFor();
      seen.push(await page.locator('dialog').innerText());
      // Host names are data, not keys ("mgmt.example.com" would look like one).
      const all = seen.join('\n').replace(/\b[\w-]+(\.[\w-]+)*\.example\.com\b/g, '');
      expect(KEYS.filter((key) => all.includes(key))).toEqual([]);
      expect(all).not.toMatch(KEYLIKE);
      expect(all).toContain(CATALOGS[locale]['window.connect']);
      expect(all).toContain(CATALOGS[locale]['prompt.accept']);
      expect(all).toContain(CATALOGS[locale]['window.diagnostics']);
      if (locale === 'ja') expect(all).toMatch(/[\u3040-\u30ff]/);
      if (locale === 'ko') expect(all).toMatch(/[\uac00-\ud7af]/);
      expect(await page.title()).toBe(CATALOGS[locale]['app.name']);
    });
  }

  it('dark mode from prefers-color-scheme changes the colours and stays axe-clean', async () => {
    const { page, bridge } = await open(STATES.connected());
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(dark).not.toBe(light);
    const luminance = (rgb: string) =>
      rgb
        .match(/\d+/g)!
        .slice(0, 3)
        .map(Number)
        .reduce((a, b) => a + b, 0);
    expect(luminance(dark)).toBeLessThan(luminance(light));
    expect(await axeViolations(page)).toEqual([]);
    await bridge.push(STATES.error({ prompt: { kind: 'secret', id: 1, title: 'Sign in', message: 'Password' } }));
    await page.getByRole('dialog').waitFor();
    expect(await axeViolations(page)).toEqual([]);
  });

  it('a malformed or unknown request from the page gets a typed error and reaches no handler', async () => {
    const { page, bridge } = await open();
    const before = bridge.handled.length;
    const call = (method: string, params: unknown) =>
      page.evaluate(([m, p]) => (window['tandem'] as { call(m: unknown, p: unknown): Promise<unknown> }).call(m, p), [
        method,
        params,
      ] as const);
    expect(await call('eval', {})).toMatchObject({ ok: false, error: { code: 'E_IPC_METHOD' } });
    expect(await call('connect', { host: 5 })).toMatchObject({ ok: false, error: { code: 'E_IPC_PARAMS' } });
    expect(await call('prompt.answer', { id: 1, accepted: 'yes' })).toMatchObject({
      ok: false,
      error: { code: 'E_IPC_PARAMS' },
    });
    expect(bridge.handled.length).toBe(before);
  });

  it('makes no network requests: only its own files load and connect-src refuses the rest', async () => {
    const { page } = await open(STATES.connected());
    const blocked = await page.evaluate(() =>
      fetch('/index.html').then(
        () => 'fetched',
        () => 'blocked',
      ),
    );
    expect(blocked).toBe('blocked');
    expect(await csp(page)).toEqual([expect.stringMatching(/^connect-src /)]);
    // The favicon is Chromium's own request (Electron makes none), not the page's.
    const files = new Set(session.server.requests);
    expect(
      [...files].every(
        (path) => path === '/' || path === '/favicon.ico' || /^\/assets\/index-[\w-]+\.(js|css)$/.test(path),
      ),
    ).toBe(true);
  });
});
