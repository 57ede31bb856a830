/**
 * macOS for real, the parts tandemd needs to run end to end there: its default paths (the state
 * directory under /var/run beside the socket, the settings directory made private), the console
 * user from /dev/console, and the IPC client's Unix transport with its root-ownership check.
 * Runs on the hosted macos-latest runner as root (.github/workflows/platforms.yml) and skips
 * everywhere else.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@tandem/common';
import { selectPrivatePathPolicy } from '@tandem/common/safe-fs';
import { connectIpc } from '@tandem/ipc/client';
import { createIpcServer } from '@tandem/ipc/server';
import { fakeHandlers } from '../../packages/ipc/test/fixtures.js';

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

describe.skipIf(!root)(`macOS paths, console user and client${reason}`, () => {
  it('prepares the state directory under /var/run and a private settings directory under Application Support', async () => {
    const { prepareStateDir } = await import('../../apps/agent/src/state-dir.js');
    const { DARWIN_AGENT_PATHS } = await import('../../apps/agent/src/platform-paths.js');
    const state = `/var/run/tandem-ci-${process.pid}`;
    cleanups.push(() => rm(state, { recursive: true, force: true }));
    expect(await prepareStateDir(state)).toEqual({ stateDir: state, journalDir: join(state, 'netjournal') });
    // Beside the real one, so its parent (Application Support) is the real parent.
    const support = `${DARWIN_AGENT_PATHS.settingsDir.replace(/\/Tandem\/settings$/, '')}/Tandem-ci-${process.pid}`;
    const settings = join(support, 'settings');
    cleanups.push(() => rm(support, { recursive: true, force: true }));
    const policy = await selectPrivatePathPolicy('darwin');
    policy.ensurePrivateDir(settings, ErrorCodes.STATE_FILE);
    policy.writeFileAtomic(join(settings, 'settings.json'), '{}');
    expect(policy.readPrivateFile(join(settings, 'settings.json'), ErrorCodes.STATE_FILE)?.toString()).toBe('{}');
  });

  it('tells the console user from /dev/console', async () => {
    const { openConsoleUsers } = await import('../../apps/agent/src/console-user.js');
    const users = await (await openConsoleUsers({ sessionsDir: () => null }, 'darwin'))();
    expect(users).toBeInstanceOf(Set);
  });

  it('connects to a root-owned socket under /var/run, and reports a missing agent', async () => {
    const dir = `/var/run/tandem-client-ci-${process.pid}`;
    const { prepareStateDir } = await import('../../apps/agent/src/state-dir.js');
    await prepareStateDir(dir);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'tandemd.sock');
    const server = createIpcServer({ socketPath, handlers: fakeHandlers(), agentVersion: 'ci' });
    await server.listen();
    cleanups.push(() => server.close());
    const client = await connectIpc({ socketPath, clientVersion: 'ci' });
    expect(client.permissions).toContain('admin');
    client.close();
    await expect(connectIpc({ socketPath: '/tmp/tandem-absent.sock', clientVersion: 'ci' })).rejects.toMatchObject({
      code: ErrorCodes.IPC_CLOSED,
    });
  });
});
