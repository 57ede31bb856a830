/**
 * Chooses the service host, and the installer, of this platform. The Linux host (systemd's
 * notify socket) is this build's own code; the Windows and macOS modules are reached only through
 * a dynamic `import()`, so a Linux agent never loads them. Any other platform is an error.
 */
import { ErrorCodes, TandemError, type Logger } from '@tandem/common';
import { createNotifier, nullNotifier } from './sd-notify.js';
import { signalOnlyHost, type InstallRequest, type ServiceHost } from './service-host.js';

/** What {@link openServiceHost} needs. */
export interface ServiceHostOptions {
  /** Default `process.platform`. */
  platform?: string;
  /** `--service`: started by the platform's service manager (needed on Windows to reach the SCM). */
  service: boolean;
  /** `$NOTIFY_SOCKET` as taken at start (systemd). */
  notifySocket: string | null;
  log: Logger;
}

function unsupported(platform: string, what: string): TandemError {
  return new TandemError(ErrorCodes.USAGE, `${what}: no service manager support on platform ${platform}`, {
    details: { platform },
  });
}

/** The service host of this platform. */
export async function openServiceHost(options: ServiceHostOptions): Promise<ServiceHost> {
  const platform = options.platform ?? process.platform;
  switch (platform) {
    case 'linux':
      return signalOnlyHost('systemd', createNotifier(options.notifySocket, options.log.child('sd-notify')));
    case 'darwin':
      return (await import('./service-darwin.js')).launchdHost();
    case 'win32': {
      if (!options.service) return signalOnlyHost('none', nullNotifier);
      const [{ startScmHost }, { loadScmApi }] = await Promise.all([
        import('./service-windows.js'),
        import('./advapi32-api-windows.js'),
      ]);
      return startScmHost(loadScmApi(), options.log.child('scm'));
    }
    default:
      throw unsupported(platform, 'tandemd');
  }
}

/**
 * `tandemd --install-service`: registers the agent to start at boot and starts it. Resolves
 * with a line for the administrator. On Linux the package's systemd unit does this.
 */
export async function installService(request: InstallRequest): Promise<string> {
  const platform = request.platform ?? process.platform;
  if (platform === 'linux')
    throw new TandemError(
      ErrorCodes.USAGE,
      'on Linux the package installs the systemd unit tandemd.service: systemctl enable --now tandemd',
    );
  if (platform === 'darwin') return (await import('./service-darwin.js')).installLaunchDaemon(request);
  if (platform === 'win32') {
    const [{ installWindowsService }, { loadScmApi }] = await Promise.all([
      import('./service-install-windows.js'),
      import('./advapi32-api-windows.js'),
    ]);
    return installWindowsService(loadScmApi(), request);
  }
  throw unsupported(platform, '--install-service');
}

/** `tandemd --uninstall-service`: stops the agent's service and removes it. */
export async function uninstallService(platform: string = process.platform): Promise<string> {
  if (platform === 'linux')
    throw new TandemError(
      ErrorCodes.USAGE,
      'on Linux the package owns the systemd unit: systemctl disable --now tandemd',
    );
  if (platform === 'darwin') return (await import('./service-darwin.js')).uninstallLaunchDaemon();
  if (platform === 'win32') {
    const [{ uninstallWindowsService }, { loadScmApi }] = await Promise.all([
      import('./service-install-windows.js'),
      import('./advapi32-api-windows.js'),
    ]);
    return uninstallWindowsService(loadScmApi());
  }
  throw unsupported(platform, '--uninstall-service');
}
