/**
 * Windows for real, the parts tandemd and tandem need to run end to end: the ProgramData folder
 * from the known-folder API, the private-path policy's DACLs (created and checked by the OS), the
 * IPC client opening the agent's pipe with the rights the SDDL grants, and the console-user
 * call. Runs on the hosted windows-latest runner (.github/workflows/platforms.yml), whose account
 * is an elevated administrator — not LocalSystem, which decides two of the answers below — and
 * skips everywhere else.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { selectPrivatePathPolicy } from '@tandem/common/safe-fs';
import { connectIpc } from '@tandem/ipc/client';
import { createIpcServer } from '@tandem/ipc/server';
import { fakeHandlers } from '../../packages/ipc/test/fixtures.js';
import { run } from './os.js';

const onWindows = process.platform === 'win32';
const reason = onWindows ? '' : ' [skipped: Windows only; runs on windows-latest in .github/workflows/platforms.yml]';
const SYSTEM32 = 'C:\\Windows\\System32';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe.skipIf(!onWindows)(`Windows paths and private files${reason}`, () => {
  it('%ProgramData% comes from the known-folder API', async () => {
    const { resolveAgentPaths } = await import('../../apps/agent/src/platform-paths.js');
    const paths = await resolveAgentPaths('win32');
    expect(paths.stateDir.toLowerCase()).toBe(join(process.env['ProgramData'] ?? '', 'Tandem', 'state').toLowerCase());
  });

  it('creates private directories with a protected DACL, checks them, and refuses one users may write', async () => {
    const policy = await selectPrivatePathPolicy('win32');
    const base = await mkdtemp(join(process.cwd(), 'platform-acl-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const dir = join(base, 'Tandem', 'state', 'netjournal');
    policy.ensurePrivateDir(dir, ErrorCodes.STATE_FILE);
    const icacls = join(SYSTEM32, 'icacls.exe');
    const shown = await run(icacls, [dir]);
    expect(shown.stdout).toMatch(/NT AUTHORITY\\SYSTEM:\(OI\)\(CI\)\(F\)/);
    expect(shown.stdout).not.toMatch(/BUILTIN\\Users/);
    const file = join(dir, 'session.json');
    policy.writeFileAtomic(file, '{"ok":true}');
    expect(policy.readPrivateFile(file, ErrorCodes.STATE_FILE)?.toString()).toBe('{"ok":true}');
    const grant = await run(icacls, [dir, '/grant', '*S-1-5-32-545:(OI)(CI)(W)']);
    expect(grant.code, grant.stdout + grant.stderr).toBe(0);
    expect(() => policy.checkPrivateDir(dir, ErrorCodes.STATE_FILE)).toThrow(/S-1-5-32-545/);
  });
});

describe.skipIf(!onWindows)(`Windows IPC client and console user${reason}`, () => {
  it("opens the pipe with the SDDL's rights; refuses a server that is not LocalSystem unless told", async () => {
    const pipe = `\\\\.\\pipe\\tandem-client-ci-${process.pid}`;
    const server = createIpcServer({ socketPath: pipe, handlers: fakeHandlers(), agentVersion: 'ci' });
    await server.listen();
    cleanups.push(() => server.close());
    // The runner's administrator owns this pipe (Administrators); its process is not LocalSystem's.
    await expect(connectIpc({ socketPath: pipe, clientVersion: 'ci' })).rejects.toMatchObject({
      code: ErrorCodes.IPC_UNTRUSTED_SOCKET,
      message: expect.stringMatching(/not LocalSystem/),
    });
    const client = await connectIpc({ socketPath: pipe, clientVersion: 'ci', allowNonRootOwner: true });
    expect(client.permissions).toEqual(['read', 'control', 'admin']);
    client.close();
    await expect(
      connectIpc({ socketPath: `\\\\.\\pipe\\tandem-absent-${process.pid}`, clientVersion: 'ci' }),
    ).rejects.toMatchObject({ code: ErrorCodes.IPC_CLOSED, message: expect.stringMatching(/not running/) });
  });

  it('asks WTS for the console user without a typed failure (no LocalSystem here: null, or nobody at the console)', async () => {
    const { openConsoleUsers } = await import('../../apps/agent/src/console-user.js');
    const users = await (await openConsoleUsers({ sessionsDir: () => null }, 'win32'))();
    // ERROR_PRIVILEGE_NOT_HELD without SeTcbPrivilege → null; no session on the console → empty.
    expect(users === null || users.size === 0).toBe(true);
  });
});
