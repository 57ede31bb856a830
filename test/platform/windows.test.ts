/**
 * Windows for real: runs on the hosted windows-latest runner (.github/workflows/platforms.yml)
 * and skips everywhere else. The runner's account is an elevated administrator.
 *
 * - the agent's named pipe: the SDDL in force, a second agent refused the name, a client
 *   identified from its token (its SID, elevated → admin);
 * - a Wintun adapter: a ping answered through it, a route added through it and removed;
 * - the service: installed (CreateServiceW), started by the SCM, stopped through the host's
 *   STOP handling and deleted — with a probe in place of the agent, whose tunnels still miss
 *   what docs/platforms.md lists under "Not yet done";
 * - a certificate from the OS store signing: test/platform/certs-windows.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '@tandem/contract';
import { createIpcServer, type IpcServer } from '@tandem/ipc/server';
import { fakeHandlers } from '../../packages/ipc/test/fixtures.js';
import { rawConnect } from '../../packages/ipc/test/raw.js';
import { answerPings, eventually, loadOpenTunDevice, run } from './os.js';

const onWindows = process.platform === 'win32';
const reason = onWindows ? '' : ' [skipped: Windows only; runs on windows-latest in .github/workflows/platforms.yml]';
const SYSTEM32 = 'C:\\Windows\\System32';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** The current user's SID, from whoami. */
async function mySid(): Promise<string> {
  const r = await run(join(SYSTEM32, 'whoami.exe'), ['/user', '/fo', 'csv', '/nh']);
  const sid = /"(S-1-[0-9-]+)"/.exec(r.stdout)?.[1];
  if (!sid) throw new Error(`no SID in whoami output: ${r.stdout}`);
  return sid;
}

describe.skipIf(!onWindows)(`Windows named pipe${reason}`, () => {
  const pipe = `\\\\.\\pipe\\tandem-ci-${process.pid}`;
  let server: IpcServer;

  it('listens with the SDDL, and a second agent cannot take the name', async () => {
    server = createIpcServer({ socketPath: pipe, handlers: fakeHandlers(), agentVersion: 'ci' });
    await server.listen();
    cleanups.push(() => server.close());
    const acl = await run(join(SYSTEM32, 'WindowsPowerShell', 'v1.0', 'powershell.exe'), [
      '-NoProfile',
      '-Command',
      `(Get-Acl -LiteralPath '${pipe}').Sddl`,
    ]);
    expect(acl.code, acl.stderr).toBe(0);
    // Authenticated users: read and write, never FILE_CREATE_PIPE_INSTANCE; network logons denied.
    expect(acl.stdout).toMatch(/\(A;;0x12019b;;;AU\)/);
    expect(acl.stdout).toMatch(/\(D;;[^;]+;;;NU\)/);
    const second = createIpcServer({ socketPath: pipe, handlers: fakeHandlers(), agentVersion: 'ci2' });
    await expect(second.listen()).rejects.toThrow(/CreateNamedPipeW .* Win32 error (5|231)/);
  });

  it("identifies a client from its token: the user's SID, elevated administrator → admin", async () => {
    const peer = await rawConnect(pipe);
    peer.send(
      `${JSON.stringify({ id: 1, method: 'hello', params: { apiVersion: API_VERSION, clientVersion: 'ci' } })}\n`,
    );
    const [hello] = (await peer.waitFrames(1, 5000)) as Array<{ result?: { uid: number; permissions: string[] } }>;
    expect(hello?.result?.permissions).toEqual(['read', 'control', 'admin']);
    expect(hello?.result?.uid).toBe(2 ** 30);
    const [conn] = server.connections();
    expect(conn?.peer).toEqual({ pid: process.pid, uid: 2 ** 30, gid: -1, user: await mySid(), admin: true });
    peer.socket.destroy();
  });
});

describe.skipIf(!onWindows)(`Wintun adapter${reason}`, () => {
  it('carries a ping both ways, and a route through it is added and removed', async () => {
    const dllPath = process.env['TANDEM_CI_WINTUN_DLL'];
    expect(dllPath, 'the workflow downloads wintun.dll and sets TANDEM_CI_WINTUN_DLL').toBeTruthy();
    const openTunDevice = await loadOpenTunDevice();
    const device = await openTunDevice(undefined, { dllPath });
    cleanups.push(async () => device.close());
    const netsh = join(SYSTEM32, 'netsh.exe');
    const set = await run(netsh, [
      'interface',
      'ipv4',
      'set',
      'address',
      `name=${device.name}`,
      'static',
      '10.99.0.1',
      '255.255.255.0',
    ]);
    expect(set.code, set.stdout + set.stderr).toBe(0);
    const { seen } = answerPings(device);
    const ping = (to: string) => run(join(SYSTEM32, 'PING.EXE'), ['-n', '1', '-w', '2000', to]);
    expect(await eventually(async () => (await ping('10.99.0.2')).code === 0)).toBe(true);
    expect(seen.some((r) => r.src === '10.99.0.1' && r.dst === '10.99.0.2')).toBe(true);

    const route = join(SYSTEM32, 'ROUTE.EXE');
    const add = await run(route, ['ADD', '10.98.0.0', 'MASK', '255.255.0.0', '10.99.0.2']);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(await eventually(async () => (await ping('10.98.1.1')).code === 0)).toBe(true);
    expect(seen.some((r) => r.dst === '10.98.1.1')).toBe(true);
    const del = await run(route, ['DELETE', '10.98.0.0']);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const before = seen.length;
    expect((await ping('10.98.1.1')).code).not.toBe(0);
    expect(seen.slice(before).some((r) => r.dst === '10.98.1.1')).toBe(false);
  });
});

describe.skipIf(!onWindows)(`Windows service${reason}`, () => {
  it('is installed, started by the SCM, stopped through the host and deleted', async () => {
    const { loadScmApi } = await import('../../apps/agent/src/advapi32-api-windows.js');
    const { installWindowsService, uninstallWindowsService } =
      await import('../../apps/agent/src/service-install-windows.js');
    const { SERVICE_NAME } = await import('../../apps/agent/src/service-windows.js');
    const api = loadScmApi();
    // Under the checkout: LocalSystem may write there.
    const dir = await mkdtemp(join(process.cwd(), 'platform-tmp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const marker = join(dir, 'probe.json');
    const probe = join(process.cwd(), 'test', 'platform', 'fixtures', 'scm-probe.mjs');
    cleanups.push(() => uninstallWindowsService(api));
    const line = await installWindowsService(api, {
      execPath: process.execPath,
      script: probe,
      args: ['--marker', marker],
    });
    expect(line).toContain('installed and started the service tandemd');
    const sc = join(SYSTEM32, 'sc.exe');
    expect(await eventually(async () => /RUNNING/.test((await run(sc, ['query', SERVICE_NAME])).stdout))).toBe(true);
    expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ state: 'running' });
    const qc = await run(sc, ['qc', SERVICE_NAME]);
    expect(qc.stdout).toMatch(/AUTO_START/);
    expect(qc.stdout).toMatch(/LocalSystem/);
    expect(await uninstallWindowsService(api)).toBe('stopped and removed the service tandemd');
    expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({ state: 'stopping', reason: 'service stop' });
    const gone = await run(sc, ['query', SERVICE_NAME]);
    expect(gone.code).not.toBe(0);
  });
});
