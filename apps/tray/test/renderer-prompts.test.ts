/**
 * The tray's prompts in Debian's Chromium against the real bridge host: every kind with Accept,
 * Decline and Escape producing the right `prompt.answer`, the banner as plain text, the
 * certificate picker (refusal reasons, refused not selectable, remember), refused requests, and
 * axe-core with each dialog open.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { titled } from '@tandem/testkit';
import type { PromptView } from '../src/core/bridge.js';
import { axeViolations, chromiumMissing, WindowSession } from './lib/window-harness.js';
import { STATES, withPrompt } from './lib/window-views.js';

// The browser globals the page functions below touch (the test program has no DOM lib).
declare const document: { activeElement: { closest(selector: string): unknown } | null };

const session = new WindowSession();
const open = (view = STATES.disconnected()) => session.open(view);
const text = (page: Page, selector: string) => page.locator(selector).innerText();

describe.skipIf(chromiumMissing)(titled('tray window prompts in Chromium', chromiumMissing), () => {
  beforeAll(() => session.start());
  afterAll(() => session.stop());

  const prompts: { name: string; prompt: PromptView; accept: (page: Page) => Promise<void>; answer?: string }[] = [
    {
      name: 'banner',
      prompt: { kind: 'banner', id: 1, text: '<b>Authorised</b> use only.\nAll access is logged.' },
      accept: (page) => page.getByRole('button', { name: 'Accept' }).click(),
    },
    {
      name: 'confirm',
      prompt: { kind: 'confirm', id: 2, title: 'Server certificate', message: 'Trust vpn.example.com?' },
      accept: (page) => page.getByRole('button', { name: 'OK' }).click(),
    },
    {
      name: 'text',
      prompt: { kind: 'text', id: 3, title: 'Sign in', message: 'Username' },
      accept: async (page) => {
        await page.getByLabel('Username').fill('alice');
        await page.keyboard.press('Enter');
      },
      answer: 'alice',
    },
    {
      name: 'secret',
      prompt: { kind: 'secret', id: 4, title: 'Sign in', message: 'Password' },
      accept: async (page) => {
        expect(await page.getByLabel('Password').getAttribute('type')).toBe('password');
        await page.getByLabel('Password').fill('s3cret!');
        await page.getByRole('button', { name: 'OK' }).click();
      },
      answer: 's3cret!',
    },
    {
      name: 'choice',
      prompt: { kind: 'choice', id: 5, title: 'Group', message: 'Choose a group', choices: ['Staff', 'Contractors'] },
      accept: async (page) => {
        await page.getByLabel('Contractors').check();
        await page.getByRole('button', { name: 'OK' }).click();
      },
      answer: 'Contractors',
    },
  ];
  for (const { name, prompt, accept, answer } of prompts) {
    it(`${name} prompt: Accept, Decline and Escape answer it; axe-clean`, async () => {
      const { page, bridge } = await open(withPrompt(prompt));
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      expect(await axeViolations(page)).toEqual([]);
      await accept(page);
      await bridge.push(withPrompt({ ...prompt, id: prompt.id + 100 }));
      await page.getByRole('button', { name: name === 'banner' ? 'Decline' : 'Cancel' }).click();
      await bridge.push(withPrompt({ ...prompt, id: prompt.id + 200 }));
      await expect.poll(() => page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
      await page.keyboard.press('Escape');
      await expect.poll(() => bridge.paramsOf('prompt.answer').length).toBe(3);
      expect(bridge.paramsOf('prompt.answer')).toEqual([
        { id: prompt.id, accepted: true, ...(answer !== undefined ? { answer } : {}) },
        { id: prompt.id + 100, accepted: false },
        { id: prompt.id + 200, accepted: false },
      ]);
      await bridge.push(STATES.disconnected());
      await expect.poll(() => dialog.count()).toBe(0);
    });
  }

  it('banner text is shown as plain text, never as HTML', async () => {
    const { page } = await open(withPrompt({ kind: 'banner', id: 9, text: '<b>Authorised</b> <img src=x> only.' }));
    expect(await text(page, '.banner-text')).toBe('<b>Authorised</b> <img src=x> only.');
    expect(await page.locator('dialog b, dialog img').count()).toBe(0);
  });

  it('certificate picker: facts and refusal reasons, refused not selectable, remember', async () => {
    const cert = (n: number, accepted: boolean, reasons: string[] = []) => ({
      sha256: String(n).repeat(64),
      subject: `CN=alice ${n},O=Example`,
      issuer: 'CN=Example Issuing CA',
      notAfter: '2027-03-01T00:00:00.000Z',
      store: n === 2 ? 'pkcs11' : 'file',
      accepted,
      reasons,
    });
    const candidates = [
      cert(1, false, ['expired on 2026-01-01', 'no client-auth usage']),
      cert(2, true),
      cert(3, true),
    ];
    const { page, bridge } = await open(withPrompt({ kind: 'certificate', id: 11, candidates, remember: true }));
    const dialog = page.getByRole('dialog', { name: 'Choose a certificate' });
    await dialog.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    const refused = dialog.getByRole('radio', { name: /alice 1/ });
    expect(await refused.isDisabled()).toBe(true);
    expect(await text(page, '.refused .reasons')).toBe('Not usable: expired on 2026-01-01; no client-auth usage');
    const facts = await dialog.locator('.certificate').nth(1).innerText();
    for (const fact of [
      'Subject',
      'CN=alice 2,O=Example',
      'Issuer',
      'CN=Example Issuing CA',
      'Expires',
      '2027',
      'Store',
      'pkcs11',
    ])
      expect(facts).toContain(fact);
    await dialog.locator('.refused label').click({ force: true });
    expect(await refused.isChecked()).toBe(false);
    expect(await dialog.getByRole('radio', { name: /alice 2/ }).isChecked()).toBe(true);
    await dialog.getByRole('radio', { name: /alice 3/ }).check();
    await dialog.getByLabel('Remember my choice').check();
    await dialog.getByRole('button', { name: 'Use this certificate' }).click();
    await expect
      .poll(() => bridge.paramsOf('prompt.answer'))
      .toEqual([{ id: 11, accepted: true, answer: '3'.repeat(64), remember: true }]);

    await bridge.push(withPrompt({ kind: 'certificate', id: 12, candidates, remember: false }));
    await expect.poll(() => dialog.getByLabel('Remember my choice').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Use this certificate' }).click();
    await bridge.push(withPrompt({ kind: 'certificate', id: 13, candidates: [candidates[0]!], remember: true }));
    await expect.poll(() => dialog.getByRole('button', { name: 'Use this certificate' }).isDisabled()).toBe(true);
    await page.keyboard.press('Escape');
    await expect
      .poll(() => bridge.paramsOf('prompt.answer').slice(1))
      .toEqual([
        { id: 12, accepted: true, answer: '2'.repeat(64) },
        { id: 13, accepted: false },
      ]);
  });

  it('a refused request shows its code; a refused answer can be given again', async () => {
    const { page, bridge } = await open();
    bridge.failOnce.set('connect', new TandemError(ErrorCodes.PERMISSION, 'only an administrator may connect'));
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect
      .poll(() => page.getByRole('alert').innerText())
      .toBe('The request failed: only an administrator may connect (error code E_PERMISSION)');
    await bridge.push(withPrompt({ kind: 'confirm', id: 3, title: 'Continue?', message: 'Really?' }));
    bridge.failOnce.set('prompt.answer', new TandemError(ErrorCodes.IPC_CLOSED, 'the agent went away'));
    await page.getByRole('button', { name: 'OK' }).click();
    // Inside the dialog: the window behind a modal dialog is inert.
    await expect.poll(() => page.getByRole('dialog').getByRole('alert').innerText()).toContain('E_IPC_CLOSED');
    await page.getByRole('button', { name: 'OK' }).click();
    await expect.poll(() => bridge.paramsOf('prompt.answer').length).toBe(2);
    await expect.poll(() => page.getByRole('alert').count()).toBe(0);
  });
});
