/** Installing and removing the Windows service over the recording fake: calls, command line, failure codes. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError } from '@tandem/common';
import {
  DESCRIPTION,
  DISPLAY_NAME,
  installWindowsService,
  serviceCommandLine,
  uninstallWindowsService,
} from '../src/service-install-windows.js';
import { FakeScm } from './lib/fake-scm.js';

const REQUEST = {
  execPath: 'C:\\Program Files\\Tandem\\node.exe',
  script: 'C:\\Program Files\\Tandem\\agent\\main.js',
  args: ['--log-level', 'debug'],
};
const CMD =
  '"C:\\Program Files\\Tandem\\node.exe" "C:\\Program Files\\Tandem\\agent\\main.js" "--service" "--log-level" "debug"';

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isTandemError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('did not fail');
}

describe('Windows service install', () => {
  it('creates tandemd (auto start, LocalSystem, quoted command line), sets recovery, starts it, closes every handle', async () => {
    const scm = new FakeScm();
    expect(await installWindowsService(scm, REQUEST)).toBe(`installed and started the service tandemd: ${CMD}`);
    expect(scm.calls).toEqual([
      'OpenSCManagerW(0x3)',
      `CreateServiceW(1, tandemd, ${DISPLAY_NAME}, start 2, ${CMD})`,
      `ChangeServiceConfig2W(2, DESCRIPTION, ${DESCRIPTION})`,
      'ChangeServiceConfig2W(2, FAILURE_ACTIONS, reset 86400, 1/5000,1/5000,1/30000)',
      'StartServiceW(2)',
      'CloseServiceHandle(2)',
      'CloseServiceHandle(1)',
    ]);
    expect([...scm.open]).toEqual([]);
  });

  it('quotes every part, doubles a trailing backslash, refuses quotes, control characters and relative paths', () => {
    expect(
      serviceCommandLine({ execPath: 'C:\\n.exe', script: 'C:\\a b\\m.js', args: ['--state-dir', 'C:\\state\\'] }),
    ).toBe('"C:\\n.exe" "C:\\a b\\m.js" "--service" "--state-dir" "C:\\state\\\\"');
    for (const bad of [
      { execPath: 'node.exe', script: 'C:\\m.js', args: [] },
      { execPath: 'C:\\n.exe', script: 'm.js', args: [] },
      { execPath: 'C:\\n.exe', script: 'C:\\m.js', args: ['--x"', 'y'] },
      { execPath: 'C:\\n.exe', script: 'C:\\m.js', args: ['a\nb'] },
      { execPath: 'C:\\n.exe', script: 'C:\\m.js', args: [''] },
    ]) {
      expect(() => serviceCommandLine(bad), JSON.stringify(bad)).toThrow(/absolute|cannot put/);
    }
  });

  it('maps each failure to a typed error naming the call and the code; a half-made service is deleted', async () => {
    const cases: Array<[string, (s: FakeScm) => void, string, string, boolean]> = [
      [
        'not elevated',
        (s) => (s.failures.openManager = 5),
        ErrorCodes.PERMISSION,
        'OpenSCManagerW failed: Win32 error 5: access denied',
        false,
      ],
      [
        'exists',
        (s) => (s.failures.createService = 1073),
        ErrorCodes.USAGE,
        'CreateServiceW failed: Win32 error 1073: the service tandemd exists already',
        false,
      ],
      [
        'marked for delete',
        (s) => (s.failures.createService = 1072),
        ErrorCodes.USAGE,
        'Win32 error 1072: the service tandemd is marked for deletion',
        false,
      ],
      ['display name taken', (s) => (s.failures.createService = 1078), ErrorCodes.USAGE, 'Win32 error 1078', false],
      [
        'bad path',
        (s) => (s.failures.createService = 123),
        ErrorCodes.INTERNAL,
        'CreateServiceW failed: Win32 error 123',
        false,
      ],
      [
        'description',
        (s) => (s.descriptionError = 87),
        ErrorCodes.INTERNAL,
        'ChangeServiceConfig2W(DESCRIPTION) failed: Win32 error 87',
        true,
      ],
      [
        'recovery',
        (s) => (s.actionsError = 5),
        ErrorCodes.PERMISSION,
        'ChangeServiceConfig2W(FAILURE_ACTIONS) failed: Win32 error 5',
        true,
      ],
      [
        'start',
        (s) => (s.startError = 1053),
        ErrorCodes.INTERNAL,
        'installed, but not started: StartServiceW failed: Win32 error 1053',
        false,
      ],
    ];
    for (const [name, fault, code, text, deleted] of cases) {
      const scm = new FakeScm();
      fault(scm);
      const f = await failure(installWindowsService(scm, REQUEST));
      expect(f.code, name).toBe(code);
      expect(f.message, name).toContain(text);
      expect(scm.calls.includes('DeleteService(2)'), name).toBe(deleted);
      expect([...scm.open], name).toEqual([]);
    }
  });
});

describe('Windows service uninstall', () => {
  const noSleep = () => Promise.resolve();

  it('stops the service, waits until it is stopped, deletes it', async () => {
    const scm = new FakeScm();
    scm.states = [3, 3, 1];
    expect(await uninstallWindowsService(scm, 30_000, noSleep)).toBe('stopped and removed the service tandemd');
    expect(scm.calls).toEqual([
      'OpenSCManagerW(0x1)',
      'OpenServiceW(1, tandemd, 0x10024)',
      'ControlService(2, 1)',
      'QueryServiceStatus(2)',
      'QueryServiceStatus(2)',
      'QueryServiceStatus(2)',
      'DeleteService(2)',
      'CloseServiceHandle(2)',
      'CloseServiceHandle(1)',
    ]);
  });

  it('a stopped service (1062) or one between states (1061) is fine; marked for delete (1072) counts as deleted', async () => {
    for (const [stopError, deleteError] of [
      [1062, 0],
      [1061, 0],
      [1062, 1072],
    ]) {
      const scm = new FakeScm();
      scm.failures.controlService = stopError;
      scm.deleteError = deleteError!;
      expect(await uninstallWindowsService(scm, 30_000, noSleep)).toContain('removed');
    }
  });

  it('fails typed: not installed, access denied, a stop refused, a service that does not stop', async () => {
    const cases: Array<[string, (s: FakeScm) => void, string, string]> = [
      [
        'not installed',
        (s) => (s.failures.openService = 1060),
        ErrorCodes.USAGE,
        'OpenServiceW failed: Win32 error 1060: the service tandemd is not installed',
      ],
      [
        'not elevated',
        (s) => (s.failures.openManager = 5),
        ErrorCodes.PERMISSION,
        'OpenSCManagerW failed: Win32 error 5',
      ],
      [
        'stop refused',
        (s) => (s.failures.controlService = 1051),
        ErrorCodes.INTERNAL,
        'ControlService(STOP) failed: Win32 error 1051',
      ],
      ['never stops', (s) => (s.states = [3]), ErrorCodes.INTERNAL, 'did not stop within 1 s'],
      ['delete refused', (s) => (s.deleteError = 5), ErrorCodes.PERMISSION, 'DeleteService failed: Win32 error 5'],
    ];
    for (const [name, fault, code, text] of cases) {
      const scm = new FakeScm();
      fault(scm);
      const f = await failure(uninstallWindowsService(scm, 1_000, noSleep));
      expect(f.code, name).toBe(code);
      expect(f.message, name).toContain(text);
      expect([...scm.open], name).toEqual([]);
      if (name === 'never stops') expect(scm.calls, name).not.toContain('DeleteService(2)');
    }
  });
});
