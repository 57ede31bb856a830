/**
 * The tray's window against a REAL tandemd and real gateways in network namespaces (issue 13's
 * "(b)"): the tray's main-process core runs as the user would, in a child Node process as uid
 * 65534 with its own certificate store, and the built page in Chromium talks to it through
 * `window.tandem`. The page starts with the machine tunnel up; Connect → the certificate picker
 * (two matching user certificates) → the gateway's login banner → Accept → the user tunnel is up
 * with MCA, signed by the tray's signer (the gateway's session names the chosen certificate) →
 * the statistics move with traffic → Disconnect → the machine tunnel is back. Declining the
 * banner shows E_BANNER_DECLINED. The agent saw the tray as uid 65534 throughout. "Create
 * diagnostic bundle" through the same core writes a real archive into that user's downloads: the
 * user's audience, so without the agent's log (administrators only), with the tray's own log.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBundle } from '@tandem/diagnostics';
import { titled } from '@tandem/testkit';
import type { BridgeResult } from '../src/core/bridge.js';
import { BANNER, realLabMissing, TrayLab, USER_HOST } from './lib/real-lab.js';
import {
  bytesInWindow,
  connectInWindow,
  NOBODY,
  startRealTray,
  type RealTray,
  type TrayCore,
} from './lib/real-tray.js';

// The browser globals the page functions below touch (the test program has no DOM lib).
declare const window: Record<string, unknown>;

const skip = realLabMissing;

describe.skipIf(skip !== null)(
  titled('tray window against real tandemd, ocserv and the lab gateway (netns, Chromium)', skip),
  () => {
    const lab = new TrayLab();
    let tray: RealTray | undefined;
    let core: TrayCore;
    let page: Page;
    const text = (selector: string) => page.locator(selector).innerText();
    const icon = () => page.getByRole('img').first().getAttribute('aria-label');
    const sessions = () => lab.gateway.events.filter((e) => e.event === 'session');
    const tunnels = () => lab.gateway.events.filter((e) => e.event === 'tunnel-up').length;
    const why = () =>
      `\n--- tray core ---\n${core?.log().slice(-2000)}\n--- tandemd ---\n${lab.agent?.stderr().slice(-3000)}`;

    beforeAll(async () => {
      await lab.start();
      tray = await startRealTray({ socket: lab.scratch.socket, user: lab.user, netns: lab.lab.cli });
      ({ core, page } = tray);
    }, 180_000);

    afterAll(async () => {
      await tray?.stop();
      await lab.stop();
    });

    it('starts showing the machine tunnel: management icon, "Connected" management line, the profile host', async () => {
      await expect.poll(() => text('#management'), { timeout: 15_000 }).toBe('Connected');
      expect(await icon()).toBe('Management tunnel up');
      expect(await text('#sentence')).toContain('management tunnel to');
      expect(await page.getByLabel('Server').inputValue()).toBe(USER_HOST);
      expect(await page.locator('#connect').isEnabled()).toBe(true);
    });

    it('Connect → certificate picker → banner → Accept: MCA user tunnel signed by the tray, statistics move with traffic', async () => {
      const sessionsBefore = sessions().length;
      const shown = await connectInWindow(page, {
        certificate: /CN=bob/,
        banner: 'accept',
        prompts: 2,
        onPrompt: async (kind) => {
          if (kind === 'banner') {
            expect(await page.getByRole('dialog').locator('.banner-text').innerText()).toBe(BANNER);
          } else {
            const radios = page.getByRole('dialog').getByRole('radio');
            expect(await radios.count()).toBe(2);
            expect(await page.getByRole('dialog').innerText()).toMatch(/CN=alice[\s\S]*CN=bob|CN=bob[\s\S]*CN=alice/);
          }
        },
      });
      // The agent asks for the certificate while signing in (MCA), the banner comes after.
      expect(shown).toEqual(['certificate', 'banner']);
      await expect.poll(() => text('#sentence'), { timeout: 30_000, message: why() }).toMatch(/^Connected to /);
      expect(await icon()).toBe('Connected');
      expect(await text('#management')).toBe('Disconnected (user tunnel active)');

      // The gateway authenticated the machine AND the certificate the user picked, whose
      // signature only the tray's signer (uid 65534, the key in its store) could make.
      const session = sessions()[sessionsBefore];
      expect(session, JSON.stringify(lab.gateway.events)).toMatchObject({
        username: 'bob',
        authMode: 'multiple-certificate',
      });
      expect(String(session!['user'])).toContain('CN=bob');
      expect(String(session!['machine'])).toContain('machine.lab.test');
      // The agent's permission checks are the authority: it saw the tray as the unprivileged user.
      const st = await lab.status();
      expect(st.user.ownerUid).toBe(NOBODY);
      expect(st.user.status.state).toBe('connected');
      expect(st.machine.status.state).toBe('idle');
      expect(core.view().user?.ownerUid).toBe(NOBODY);

      await page.getByRole('table', { name: 'Bytes' }).waitFor({ timeout: 10_000 });
      const before = await bytesInWindow(page);
      await lab.ping(5, 1000);
      await expect
        .poll(() => bytesInWindow(page), { timeout: 10_000 })
        .toSatisfy(
          (b: { sent: number; received: number }) =>
            b.sent >= before.sent + 5000 && b.received >= before.received + 5000,
        );
      // The rest of vpncli's facts: transport, frames, secured routes, the management tunnel's state.
      const transport = await page.getByRole('table', { name: 'Transport Information' }).innerText();
      // The lab gateway offers DTLS, so the data (and these facts) are the DTLS channel's.
      expect(transport).toMatch(/Protocol\s+DTLSv1\.2/);
      expect(transport).toMatch(/Cipher\s+PSK-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)/);
      expect(await page.getByRole('table', { name: 'Frames' }).innerText()).toMatch(/Packets Sent\s+[1-9]/);
      expect(await page.getByRole('table', { name: 'Connection Information' }).innerText()).toContain(
        'Disconnected (user tunnel active)',
      );
      expect(await page.getByRole('table', { name: /Secured Routes \(IPv4\)/ }).innerText()).toMatch(
        /\d+\.\d+\.\d+\.\d+\/\d+/,
      );
      expect(core.notifications.map((n) => (n.body as { key: string }).key)).toContain('notify.connected');
      expect(await page.evaluate(() => window['__cspViolations'])).toEqual([]);
    }, 90_000);

    it('Disconnect in the page: the machine tunnel comes back and the page shows it', async () => {
      await page.getByRole('button', { name: 'Disconnect' }).click();
      await expect.poll(() => text('#management'), { timeout: 30_000, message: why() }).toBe('Connected');
      expect(await icon()).toBe('Management tunnel up');
      expect(await page.getByRole('table').count()).toBe(0);
      const st = await lab.status();
      expect(st.machine.status.state).toBe('connected');
      expect(st.user.status.state).toBe('idle');
      await lab.ping(1);
    }, 60_000);

    it('declining the banner: the page shows E_BANNER_DECLINED, the gateway opened no tunnel', async () => {
      const tunnelsBefore = tunnels();
      const shown = await connectInWindow(page, { certificate: /CN=alice/, banner: 'decline', prompts: 2 });
      expect(shown).toEqual(['certificate', 'banner']);
      await expect
        .poll(() => text('.error-code'), { timeout: 30_000, message: why() })
        .toBe('Error code: E_BANNER_DECLINED');
      expect(await icon()).toBe('Error');
      expect(await page.locator('#connect').isEnabled()).toBe(true);
      expect((await lab.status()).user.status.cause?.code).toBe('E_BANNER_DECLINED');
      expect(tunnels()).toBe(tunnelsBefore);
      // The machine tunnel returns after the failed attempt.
      await expect.poll(() => text('#management'), { timeout: 30_000, message: why() }).toBe('Connected');
    }, 60_000);

    it("Create diagnostic bundle as uid 65534: a real archive in the user's downloads, the user's part only", async () => {
      const reply = core.call('diagnostics.bundle', {});
      await expect
        .poll(() => text('#bundle-status'), { timeout: 60_000, message: why() })
        .toMatch(/^Saved DIAG-\w{4}-\w{4} to /);
      const answer = await reply;
      expect(answer, why()).toMatchObject({ ok: true, result: { audience: 'user' } });
      const built = (answer as { result: BridgeResult<'diagnostics.bundle'> }).result;
      expect(dirname(built.path)).toBe(lab.user.env['XDG_DOWNLOAD_DIR']);
      for (const file of [built.path, built.mapPath!]) {
        expect(statSync(file).uid, file).toBe(NOBODY);
        expect(statSync(file).mode & 0o777, file).toBe(0o600);
      }
      const report = await inspectBundle(built.path);
      expect(report.problems).toEqual([]);
      expect(report.manifest.bundle_id).toBe(built.bundleId);
      const paths = report.manifest.files.map((f) => f.path);
      expect(paths).not.toContain('agent/logs/agent.log');
      expect(paths).toEqual(expect.arrayContaining(['summary.txt', 'client/tray.log', 'client/tray.txt']));
      expect(report.manifest.files.filter((f) => f.collector.startsWith('agent:')).length).toBeGreaterThan(1);
      expect(report.summary).toContain('This side (the Tandem tray, as the user):');
      const phases = new Set(core.views.map((v) => v.diagnostics?.phase));
      expect([...phases]).toEqual(expect.arrayContaining(['collecting', 'receiving', 'writing', 'done']));
      expect(core.notifications.map((n) => (n.body as { key: string }).key)).toContain('notify.diagnosticsSaved');
    }, 90_000);
  },
);
