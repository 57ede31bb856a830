/**
 * The tray core against a scripted agent on the real IPC server: views follow the watch
 * stream, the agent's reverse prompt reaches the window and the answer reaches the agent, a
 * closed link cancels the question, typed secrets are redacted only while in use, the signer
 * answers the agent's certs.list from a real PEM store, and the bridge's requests become the
 * agent's calls (connect by name, host memory, statistics only while the window is visible and
 * the tunnel up). The diagnostic bundle is in tray-bundle.test.ts.
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, redactor } from '@tandem/common';
import { standardLab, writePem, type Lab } from '@tandem/testkit';
import { SettingsStore } from '../src/core/settings.js';
import { call, startRig } from './lib/tray-rig.js';
import { failedTunnel, idle, until, userTunnel } from './scripted-agent.js';

const uid = process.getuid!();
let lab: Lab;
beforeAll(async () => {
  lab = await standardLab('tray-app');
  writePem(lab.dir, 'alice', lab.user, [lab.intermediate]);
});
afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const rig = () => startRig(lab.dir, cleanups);

describe('tray core', () => {
  it('pushes a view on every change of the watched state, with the last used host preselected', async () => {
    const { agent, app, views } = await rig();
    expect(app.view().selectedHost).toBe('Lab'); // the profile's default until the user picks
    expect(await call(app, 'host.select', { host: 'Corp VPN' })).toEqual({ ok: true, result: {} });
    expect(app.view().selectedHost).toBe('Corp VPN');
    expect(await call(app, 'host.select', { host: 'Elsewhere' })).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_PARAMS },
    });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connecting', uid) });
    await until(() => app.view().icon === 'connecting', 'connecting view');
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    await until(() => app.view().icon === 'connected', 'connected view');
    expect(views.map((v) => v.icon)).toEqual(expect.arrayContaining(['connecting', 'connected']));
    expect(app.view().canDisconnect).toBe(true);
    // The same state again is no new view.
    const before = views.length;
    agent.setStatus(agent.status());
    await new Promise((r) => setTimeout(r, 100));
    expect(views.length).toBe(before);
    const reply = await call(app, 'view', {});
    expect(reply).toEqual({ ok: true, result: app.view() });
  });

  it('connects by host name, remembers it, disconnects', async () => {
    const { agent, app, settings } = await rig();
    expect(await call(app, 'connect', { host: 'Corp VPN' })).toEqual({ ok: true, result: {} });
    expect(agent.calls.find((c) => c.method === 'connect')?.params).toEqual({ host: 'Corp VPN' });
    expect(settings.get().lastHost).toBe('Corp VPN');
    expect(new SettingsStore(settings.path).get().lastHost).toBe('Corp VPN');
    expect(await call(app, 'disconnect', {})).toEqual({ ok: true, result: {} });
    expect(agent.calls.filter((c) => c.method === 'disconnect')).toHaveLength(1);
  });

  it("turns the agent's reverse prompt into a PromptView and returns the window's answer", async () => {
    const { agent, app } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    const ctx = agent.connectCtx()!;
    const asked = ctx.reverse('prompt', {
      kind: 'choice',
      title: 'Group',
      message: 'Choose your group',
      choices: ['staff', 'guests'],
    });
    await until(() => app.view().prompt !== undefined, 'prompt shown');
    const prompt = app.view().prompt!;
    expect(prompt).toMatchObject({ kind: 'choice', title: 'Group', choices: ['staff', 'guests'] });
    // A choice that was not offered is refused and the question stays.
    expect(await call(app, 'prompt.answer', { id: prompt.id, accepted: true, answer: 'admins' })).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_PARAMS },
    });
    expect(await call(app, 'prompt.answer', { id: prompt.id, accepted: true, answer: 'guests' })).toEqual({
      ok: true,
      result: {},
    });
    expect(await asked).toEqual({ cancelled: false, answer: 'guests' });
    expect(app.view().prompt).toBeUndefined();
    const confirm = ctx.reverse('prompt', { kind: 'confirm', title: 'Trust?', message: 'Unknown server' });
    await until(() => app.view().prompt?.kind === 'confirm', 'confirm shown');
    await call(app, 'prompt.answer', { id: app.view().prompt!.id, accepted: false });
    expect(await confirm).toEqual({ cancelled: true });
  });

  it("shows the gateway's login banner; Accept continues, Decline answers cancelled", async () => {
    const { agent, app } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    const ctx = agent.connectCtx()!;
    const accepted = ctx.reverse('prompt', { kind: 'banner', title: 'Banner', message: 'Authorised use only.' });
    await until(() => app.view().prompt?.kind === 'banner', 'banner shown');
    expect(app.view().prompt).toMatchObject({ kind: 'banner', text: 'Authorised use only.' });
    await call(app, 'prompt.answer', { id: app.view().prompt!.id, accepted: true });
    expect(await accepted).toMatchObject({ cancelled: false });
    const declined = ctx.reverse('prompt', { kind: 'banner', title: 'Banner', message: 'Again.' });
    await until(() => app.view().prompt?.kind === 'banner', 'banner shown again');
    await call(app, 'prompt.answer', { id: app.view().prompt!.id, accepted: false });
    expect(await declined).toEqual({ cancelled: true });
  });

  it("answers the agent's certs.choose with the user's pick, and remembers it only where allowed", async () => {
    const { agent, app, settings } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    const ctx = agent.connectCtx()!;
    const cand = (n: string, accepted: boolean) => ({
      sha256: n.repeat(64),
      subject: `CN=${n}`,
      issuer: 'CN=Lab CA',
      notAfter: '2027-12-06T10:00:00.000Z',
      store: 'file',
      accepted,
      reasons: accepted ? [] : ['KeyUsage lacks Digital_Signature'],
    });
    const candidates = [cand('a', true), cand('b', true), cand('c', false)];
    // The profile forbids remembering: the flag from the window is ignored.
    let asked = ctx.reverse('certs.choose', { candidates, remember: false });
    await until(() => app.view().prompt?.kind === 'certificate', 'picker shown');
    const id = app.view().prompt!.id;
    expect(await call(app, 'prompt.answer', { id, accepted: true, answer: 'c'.repeat(64) })).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_PARAMS },
    });
    await call(app, 'prompt.answer', { id, accepted: true, answer: 'b'.repeat(64), remember: true });
    expect(await asked).toEqual({ cancelled: false, sha256: 'b'.repeat(64) });
    expect(settings.get().certificate).toBeUndefined();
    // Allowed: remembered, then used without asking while it is still accepted.
    asked = ctx.reverse('certs.choose', { candidates, remember: true });
    await until(() => app.view().prompt?.kind === 'certificate', 'picker shown again');
    await call(app, 'prompt.answer', {
      id: app.view().prompt!.id,
      accepted: true,
      answer: 'a'.repeat(64),
      remember: true,
    });
    expect(await asked).toEqual({ cancelled: false, sha256: 'a'.repeat(64) });
    expect(settings.get().certificate).toBe('a'.repeat(64));
    expect(await ctx.reverse('certs.choose', { candidates, remember: true })).toEqual({
      cancelled: false,
      sha256: 'a'.repeat(64),
    });
    // No longer accepted: asked again; cancel fails the attempt.
    asked = ctx.reverse('certs.choose', { candidates: [cand('a', false), cand('b', true)], remember: true });
    await until(() => app.view().prompt?.kind === 'certificate', 'picker for a changed verdict');
    await call(app, 'prompt.answer', { id: app.view().prompt!.id, accepted: false });
    expect(await asked).toEqual({ cancelled: true });
  });

  it('keeps a typed secret redacted while the sign-in runs, and forgets it afterwards', async () => {
    const { agent, app } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connecting', uid) });
    await until(() => app.view().icon === 'connecting', 'connecting');
    const secret = 'correct horse battery staple';
    const asked = agent.connectCtx()!.reverse('prompt', { kind: 'secret', title: 'Password', message: 'Password:' });
    await until(() => app.view().prompt?.kind === 'secret', 'secret shown');
    await call(app, 'prompt.answer', { id: app.view().prompt!.id, accepted: true, answer: secret });
    expect(await asked).toEqual({ cancelled: false, answer: secret });
    expect(redactor.string(`auth failed for ${secret}`)).not.toContain(secret);
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    await until(() => app.view().icon === 'connected', 'connected');
    expect(redactor.string(`text ${secret}`)).toContain(secret);
  });

  it('cancels the question when the agent connection closes', async () => {
    const { agent, app } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    const asked = agent.connectCtx()!.reverse('prompt', { kind: 'text', title: 'User', message: 'Username:' });
    asked.catch(() => undefined);
    await until(() => app.view().prompt !== undefined, 'prompt shown');
    const id = app.view().prompt!.id;
    await agent.stop();
    await until(() => app.view().agent === 'down', 'down');
    expect(app.view().prompt).toBeUndefined();
    expect(await call(app, 'prompt.answer', { id, accepted: true, answer: 'alice' })).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.IPC_PARAMS },
    });
    await agent.start();
    await until(() => app.view().agent === 'up', 'up again');
  });

  it("answers the agent's certs.list from the user's store", async () => {
    const { agent, app } = await rig();
    await call(app, 'connect', { host: 'Lab' });
    const { certificates } = await agent.connectCtx()!.reverse('certs.list', { purpose: 'mca' });
    expect(certificates.map((c) => c.subject)).toEqual([expect.stringContaining('CN=alice')]);
    expect(app.view().prompt).toBeUndefined();
  });

  it('fetches statistics only while the window is visible and the tunnel is up', async () => {
    const { agent, app } = await rig();
    const statsCalls = (): number => agent.calls.filter((c) => c.method === 'stats').length;
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    await until(() => app.view().icon === 'connected', 'connected');
    await new Promise((r) => setTimeout(r, 200));
    expect(statsCalls()).toBe(0);
    app.setWindowVisible(true);
    await until(() => app.view().stats !== undefined && statsCalls() >= 3, 'stats refreshed');
    app.setWindowVisible(false);
    expect(app.view().stats).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    const after = statsCalls();
    await new Promise((r) => setTimeout(r, 300));
    expect(statsCalls()).toBe(after);
  });

  it('notifies each transition of this user tunnel once, with the failure code', async () => {
    const { agent, notes } = await rig();
    const keys = (): string[] => notes.map((n) => n.body.key);
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('connected', uid) });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('reconnecting', uid, 1) });
    agent.setStatus({ machine: idle('machine'), user: userTunnel('reconnecting', uid, 2) });
    agent.setStatus({ machine: idle('machine'), user: failedTunnel(uid, 'E_GATEWAY_UNREACHABLE') });
    await until(() => notes.length >= 3, 'three notes');
    await new Promise((r) => setTimeout(r, 100));
    expect(keys()).toEqual(['notify.connected', 'notify.reconnecting', 'notify.failed']);
    expect(notes[2]!.body.params).toEqual({ message: 'the gateway said no', code: 'E_GATEWAY_UNREACHABLE' });
  });

  it('runs menu actions and reports failures as notifications', async () => {
    const { agent, app, notes } = await rig();
    const menu = app.menu();
    const connect = menu.find((i) => i.kind === 'item' && i.action.kind === 'connect');
    expect(connect).toMatchObject({ enabled: true, action: { host: 'Corp VPN' } });
    await app.run({ kind: 'connect', host: 'Corp VPN' });
    expect(agent.calls.some((c) => c.method === 'connect')).toBe(true);
    await app.run({ kind: 'connect', host: 'Nowhere' });
    expect(notes.at(-1)?.body.key).toBe('notify.actionFailed');
  });
});
