/**
 * "Create diagnostic bundle" in the tray core against a scripted agent on the real IPC server:
 * the real `buildBundle` writes a real ZIP into a temporary downloads directory (the agent's files
 * read in chunks, the tray's own log and facts added, the redaction map beside it), the view
 * carries the progress in order and then the outcome, the menu waits while one runs, a second
 * request joins the running build, and an agent error leaves a notification and no file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, TandemError } from '@tandem/common';
import { inspectBundle } from '@tandem/diagnostics';
import { standardLab, titled, writePem, type Lab } from '@tandem/testkit';
import type { BridgeResult, TrayView } from '../src/core/bridge.js';
import { call, startRig, type Rig } from './lib/tray-rig.js';
import { GATEWAY, SCRIPTED_CHUNK } from './scripted-diagnostics.js';
import { until } from './scripted-agent.js';

const UNZIP = '/usr/bin/unzip';
const unzipMissing = existsSync(UNZIP) ? null : `needs ${UNZIP} (apt-get install unzip)`;
const NAME = /^tandem-diag-host-[0-9a-f]{8}-\d{8}T\d{6}Z\.zip$/;

let lab: Lab;
beforeAll(async () => {
  lab = await standardLab('tray-bundle');
  writePem(lab.dir, 'alice', lab.user, [lab.intermediate]);
});
afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Built = BridgeResult<'diagnostics.bundle'>;

async function bundle(app: Rig['app']): Promise<Built> {
  const reply = await call(app, 'diagnostics.bundle', {});
  if (!reply.ok) throw new Error(`diagnostics.bundle failed: ${JSON.stringify(reply.error)}`);
  return reply.result as Built;
}

const diagItem = (rig: Rig) => rig.app.menu().find((i) => i.kind === 'item' && i.action.kind === 'diagnostics');
/** The phases the views went through, each run of one phase once. */
const phases = (views: TrayView[]): string[] =>
  views
    .map((v) => v.diagnostics?.phase)
    .filter((p): p is NonNullable<typeof p> => p !== undefined)
    .filter((p, i, all) => p !== all[i - 1]);
const unzip = (...args: string[]): string =>
  execFileSync(UNZIP, args, { encoding: 'utf8', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });

describe('tray diagnostic bundle', () => {
  it('writes a real bundle to the downloads: agent files and the tray log, progress in order, the map 0600', async () => {
    const rig = await startRig(lab.dir, cleanups);
    const { agent, app, views, notes } = rig;
    const built = await bundle(app);

    expect(dirname(built.path)).toBe(rig.downloads);
    expect(basename(built.path)).toMatch(NAME);
    expect(built.bundleId).toMatch(/^DIAG-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(built.mapPath).toBe(built.path.replace(/\.zip$/, '.redaction-map.json'));
    expect(statSync(built.path).mode & 0o777).toBe(0o600);
    expect(statSync(built.mapPath!).mode & 0o777).toBe(0o600);
    expect(readdirSync(rig.downloads).sort()).toEqual([basename(built.path), basename(built.mapPath!)].sort());

    const report = await inspectBundle(built.path);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.manifest.bundle_id).toBe(built.bundleId);
    expect(report.manifest.tool_version).toBe('0.1.0-test');
    const byPath = new Map(report.manifest.files.map((f) => [f.path, f]));
    for (const path of ['summary.txt', 'agent/state.json', 'certificates/user.txt'])
      expect(byPath.get(path)?.collector, path).toMatch(/^agent:/);
    expect(byPath.get('client/tray.log')?.collector).toBe('tray');
    expect(byPath.get('client/tray.txt')?.collector).toBe('tray');
    expect(report.manifest.collectors.map((c) => c.name)).toEqual(
      expect.arrayContaining(['agent:summary', 'agent:agent', 'agent:certificates']),
    );
    // The administrators' part comes with the administrators' audience only.
    expect(byPath.has('agent/logs/agent.log')).toBe(built.audience === 'admin');
    // The tray's lines follow the agent's summary; the gateway the agent masked is in the tray's map.
    expect(report.summary).toContain(`Bundle ${built.bundleId}`);
    expect(report.summary).toContain('This side (the Tandem tray, as the user):');
    expect(report.summary).not.toContain(GATEWAY);
    const map = JSON.parse(readFileSync(built.mapPath!, 'utf8')) as { tokens: { host?: Record<string, string> } };
    const token = map.tokens.host?.[GATEWAY];
    expect(token).toMatch(/^host-[0-9a-f]{8}$/);
    expect(report.summary).toContain(`Gateway ${token}`);

    // The agent asked the tray for the user's certificates while collect was pending.
    expect(agent.diagnostics.collected).toEqual([
      { bundleId: built.bundleId, uid: process.getuid!(), certificates: [expect.stringContaining('CN=alice')] },
    ]);
    // Read in chunks: more reads than files.
    const agentFiles = report.manifest.files.filter((f) => f.collector.startsWith('agent:')).length;
    expect(agent.diagnostics.reads).toBeGreaterThan(agentFiles);
    expect(SCRIPTED_CHUNK).toBeLessThan(byPath.get('summary.txt')!.size);

    expect(phases(views)).toEqual(['collecting', 'receiving', 'writing', 'done']);
    const total = agentFiles;
    expect(views.flatMap((v) => (v.diagnostics?.phase === 'receiving' ? [v.diagnostics] : []))).toEqual(
      Array.from({ length: total }, (_, done) => ({ phase: 'receiving', done, total })),
    );
    expect(app.view().diagnostics).toEqual({
      phase: 'done',
      path: built.path,
      bundleId: built.bundleId,
      mapPath: built.mapPath,
    });
    expect(notes).toEqual([
      {
        title: { key: 'notify.diagnosticsTitle' },
        body: { key: 'notify.diagnosticsSaved', params: { id: built.bundleId, path: built.path } },
      },
    ]);
  });

  it.skipIf(unzipMissing)(
    titled("passes unzip -t; client/tray.log is the tray's JSON log, client/tray.txt its facts", unzipMissing),
    async () => {
      const { app } = await startRig(lab.dir, cleanups);
      const built = await bundle(app);
      expect(unzip('-t', built.path)).toMatch(/No errors detected/);
      const records = unzip('-p', built.path, 'client/tray.log')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { scope: string; msg: string });
      expect(records).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ scope: 'tray:agent-link', msg: 'connected to the agent' }),
          expect.objectContaining({ scope: 'tray', msg: 'creating a diagnostic bundle' }),
        ]),
      );
      const facts = unzip('-p', built.path, 'client/tray.txt');
      expect(facts).toContain('Tandem tray 0.1.0-test (tandem-tray/0.1.0-test)');
      expect(facts).toContain(`Node ${process.version}`);
      expect(facts).toMatch(/^Locale en$/m);
      expect(facts).toMatch(/^Window shown no$/m);
      expect(facts).toMatch(/^Agent link up$/m);
    },
  );

  it('one at a time: the menu item waits and says so, a second request joins, a second click is ignored', async () => {
    const rig = await startRig(lab.dir, cleanups);
    const { agent, app, notes } = rig;
    expect(diagItem(rig)).toMatchObject({ enabled: true, label: { key: 'menu.diagnostics' } });
    const release = agent.diagnostics.hold();
    const first = call(app, 'diagnostics.bundle', {});
    await until(() => app.view().diagnostics?.phase === 'collecting', 'collecting');
    expect(diagItem(rig)).toMatchObject({ enabled: false, label: { key: 'menu.diagnosticsRunning' } });
    const second = call(app, 'diagnostics.bundle', {});
    await app.run({ kind: 'diagnostics' }); // returns at once: nothing new starts
    expect(app.view().diagnostics?.phase).toBe('collecting');
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
    expect(agent.calls.filter((c) => c.method === 'diagnostics.collect')).toHaveLength(1);
    expect(readdirSync(rig.downloads)).toHaveLength(2);
    expect(notes.map((n) => n.body.key)).toEqual(['notify.diagnosticsSaved']);
    expect(diagItem(rig)).toMatchObject({ enabled: true, label: { key: 'menu.diagnostics' } });
  });

  it('an agent error fails the build: a notification with code and message, the view says why, no file left', async () => {
    const rig = await startRig(lab.dir, cleanups);
    const { agent, app, notes } = rig;
    agent.diagnostics.failCollect = new TandemError(ErrorCodes.IPC_LIMIT, 'one collection per user at a time');
    await app.run({ kind: 'diagnostics' });
    const failure = { code: ErrorCodes.IPC_LIMIT, message: 'one collection per user at a time' };
    expect(notes).toEqual([
      { title: { key: 'notify.diagnosticsTitle' }, body: { key: 'notify.diagnosticsFailed', params: failure } },
    ]);
    expect(app.view().diagnostics).toEqual({ phase: 'failed', ...failure });
    expect(readdirSync(rig.downloads)).toEqual([]);
    expect(diagItem(rig)).toMatchObject({ enabled: true, label: { key: 'menu.diagnostics' } });

    // Failing after the first of the agent's files is in the archive: the partial one is removed too.
    agent.diagnostics.failReadOf = 'agent/state.json';
    const reply = await call(app, 'diagnostics.bundle', {});
    expect(reply).toMatchObject({ ok: false, error: { code: ErrorCodes.INTERNAL } });
    expect(app.view().diagnostics).toMatchObject({ phase: 'failed', code: ErrorCodes.INTERNAL });
    expect(notes.at(-1)?.body.key).toBe('notify.diagnosticsFailed');
    expect(readdirSync(rig.downloads)).toEqual([]);
  });
});
