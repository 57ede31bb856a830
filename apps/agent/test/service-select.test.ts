/** Which service host and installer each platform gets, and the service options. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError, nullLogger } from '@tandem/common';
import { parseOptions } from '../src/options.js';
import { installService, openServiceHost, uninstallService } from '../src/service-select.js';

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isTandemError(err)) return { code: err.code, message: err.message };
    return { code: 'untyped', message: String(err) };
  }
  return { code: 'ok', message: '' };
}

const install = { execPath: '/n', script: '/m.js', args: [] };

describe('service host per platform', () => {
  it('Linux: systemd, active only with a notify socket', async () => {
    const off = await openServiceHost({ platform: 'linux', service: false, notifySocket: null, log: nullLogger });
    expect([off.manager, off.active]).toEqual(['systemd', false]);
    const on = await openServiceHost({ platform: 'linux', service: true, notifySocket: '@x', log: nullLogger });
    expect([on.manager, on.active]).toEqual(['systemd', true]);
  });

  it('macOS: launchd, which only signals', async () => {
    const host = await openServiceHost({ platform: 'darwin', service: true, notifySocket: null, log: nullLogger });
    expect([host.manager, host.active]).toEqual(['launchd', false]);
  });

  it('Windows: the SCM module with --service (binding advapi32 fails here, typed), a console run without', async () => {
    const console = await openServiceHost({ platform: 'win32', service: false, notifySocket: null, log: nullLogger });
    expect([console.manager, console.active]).toEqual(['none', false]);
    expect(
      await rejection(openServiceHost({ platform: 'win32', service: true, notifySocket: null, log: nullLogger })),
    ).toEqual({
      code: ErrorCodes.USAGE,
      message: "the service control manager is Windows'; not on linux",
    });
  });

  it('any other platform is refused', async () => {
    for (const platform of ['freebsd', 'aix', '']) {
      const r = await rejection(openServiceHost({ platform, service: false, notifySocket: null, log: nullLogger }));
      expect(r, platform).toEqual({
        code: ErrorCodes.USAGE,
        message: `tandemd: no service manager support on platform ${platform}`,
      });
    }
  });

  it('install/uninstall: the package unit on Linux, the platform module on Windows, refused elsewhere', async () => {
    expect((await rejection(installService({ ...install, platform: 'linux' }))).message).toContain(
      'systemctl enable --now tandemd',
    );
    expect((await rejection(uninstallService('linux'))).message).toContain('systemctl disable --now tandemd');
    expect((await rejection(installService({ ...install, platform: 'win32' }))).message).toBe(
      "the service control manager is Windows'; not on linux",
    );
    expect((await rejection(installService({ ...install, platform: 'sunos' }))).code).toBe(ErrorCodes.USAGE);
    expect((await rejection(uninstallService('sunos'))).code).toBe(ErrorCodes.USAGE);
  });
});

describe('service options', () => {
  it('--service, --install-service and --uninstall-service, one at a time', () => {
    expect(parseOptions([], {})).toMatchObject({ service: false, serviceAction: null });
    expect(parseOptions(['--service'], {})).toMatchObject({ service: true, serviceAction: null });
    expect(parseOptions(['--install-service', '--log-level', 'debug'], {})).toMatchObject({ serviceAction: 'install' });
    expect(parseOptions(['--uninstall-service'], {})).toMatchObject({ serviceAction: 'uninstall' });
    for (const argv of [
      ['--service', '--install-service'],
      ['--install-service', '--uninstall-service'],
    ]) {
      expect(() => parseOptions(argv, {}), argv.join(' ')).toThrow(/exclude each other/);
    }
  });
});
