/**
 * macOS for real: runs on the hosted macos-latest runner (.github/workflows/platforms.yml, as
 * root through sudo: utun, routes and launch daemons need it) and skips everywhere else.
 *
 * - the agent's Unix socket: callers identified by LOCAL_PEERCRED — root, and the runner's own
 *   account (SUDO_UID) in a child process, each with the permissions of the table;
 * - a utun interface: a ping answered through it, a route added through it and removed;
 * - the launch daemon: installed (plist + launchctl bootstrap), running, stopped by bootout and
 *   removed — with a probe in place of the agent (docs/platforms.md, "Not yet done");
 * - a certificate from the keychain signing: test/platform/certs-darwin.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '@tandem/contract';
import { createIpcServer, type IpcServer } from '@tandem/ipc/server';
import { fakeHandlers } from '../../packages/ipc/test/fixtures.js';
import { answerPings, eventually, loadOpenTunDevice, run } from './os.js';

const onMac = process.platform === 'darwin';
const root = onMac && process.getuid?.() === 0;
const reason = !onMac
  ? ' [skipped: macOS only; runs on macos-latest in .github/workflows/platforms.yml]'
  : !root
    ? ' [skipped: needs root (the workflow runs it with sudo)]'
    : '';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** Node in a child as `uid`: says hello on `path`, prints the answer. */
function helloAs(path: string, uid: number, gid: number): Promise<{ uid: number; permissions: string[] }> {
  const script = `
const s = require('node:net').createConnection({ path: process.argv[1] });
let buf = '';
s.on('connect', () => s.write(JSON.stringify({ id: 1, method: 'hello', params: { apiVersion: ${API_VERSION}, clientVersion: 'ci' } }) + '\\n'));
s.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0) { process.stdout.write(JSON.stringify(JSON.parse(buf.slice(0, i)).result)); s.end(); } });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path], {
      uid,
      gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: '/',
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child ${code}: ${err}`))));
  });
}

describe.skipIf(!root)(`macOS Unix socket with LOCAL_PEERCRED${reason}`, () => {
  let server: IpcServer;
  let path: string;

  it('identifies root and an unprivileged account by the kernel, with the permission table', async () => {
    // /tmp (1777), not root's TMPDIR: the unprivileged child must reach the socket.
    const dir = await mkdtemp('/tmp/tandem-ci-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await run('/bin/chmod', ['0755', dir]);
    path = join(dir, 's.sock');
    server = createIpcServer({ socketPath: path, handlers: fakeHandlers(), agentVersion: 'ci' });
    await server.listen();
    cleanups.push(() => server.close());
    expect(await helloAs(path, 0, 0)).toMatchObject({ uid: 0, permissions: ['read', 'control', 'admin'] });
    const uid = Number(process.env['SUDO_UID'] ?? 501);
    const gid = Number(process.env['SUDO_GID'] ?? 20);
    expect(await helloAs(path, uid, gid)).toMatchObject({ uid, permissions: ['read', 'control'] });
  });
});

describe.skipIf(!root)(`utun interface${reason}`, () => {
  it('carries a ping both ways, and a route through it is added and removed', async () => {
    const openTunDevice = await loadOpenTunDevice();
    const device = await openTunDevice(undefined);
    cleanups.push(async () => device.close());
    expect(device.name).toMatch(/^utun\d+$/);
    const up = await run('/sbin/ifconfig', [device.name, 'inet', '10.99.0.1', '10.99.0.2', 'up']);
    expect(up.code, up.stderr).toBe(0);
    const { seen } = answerPings(device);
    const ping = (to: string) => run('/sbin/ping', ['-c', '1', '-t', '2', to]);
    expect(await eventually(async () => (await ping('10.99.0.2')).code === 0)).toBe(true);
    expect(seen.some((r) => r.src === '10.99.0.1' && r.dst === '10.99.0.2')).toBe(true);

    const add = await run('/sbin/route', ['-n', 'add', '-net', '10.98.0.0/16', '-interface', device.name]);
    expect(add.code, add.stderr).toBe(0);
    expect((await run('/sbin/route', ['-n', 'get', '10.98.1.1'])).stdout).toContain(`interface: ${device.name}`);
    expect(await eventually(async () => (await ping('10.98.1.1')).code === 0)).toBe(true);
    const del = await run('/sbin/route', ['-n', 'delete', '-net', '10.98.0.0/16']);
    expect(del.code, del.stderr).toBe(0);
    expect((await run('/sbin/route', ['-n', 'get', '10.98.1.1'])).stdout).not.toContain(`interface: ${device.name}`);
  });
});

describe.skipIf(!root)(`launch daemon${reason}`, () => {
  it('is installed, runs at load, is stopped by bootout and removed', async () => {
    const { LAUNCHD_LABEL, installLaunchDaemon, uninstallLaunchDaemon } =
      await import('../../apps/agent/src/service-darwin.js');
    const dir = await mkdtemp(join(tmpdir(), 'tandem-ci-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const marker = join(dir, 'probe.json');
    const probe = join(process.cwd(), 'test', 'platform', 'fixtures', 'launchd-probe.mjs');
    cleanups.push(() => uninstallLaunchDaemon());
    await installLaunchDaemon({ execPath: process.execPath, script: probe, args: ['--marker', marker] });
    const print = () => run('/bin/launchctl', ['print', `system/${LAUNCHD_LABEL}`]);
    expect(await eventually(async () => /state = running/.test((await print()).stdout))).toBe(true);
    expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ state: 'running', uid: 0 });
    expect(await uninstallLaunchDaemon()).toContain('stopped and removed');
    expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ state: 'stopping', reason: 'SIGTERM' });
    expect((await print()).code).not.toBe(0);
  });
});
