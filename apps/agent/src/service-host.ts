/**
 * The service seam: what the agent tells the machine's service manager (ready, status, stopping,
 * stopped) and how that manager asks it to stop. systemd on Linux (sd-notify.ts, unchanged), the
 * service control manager on Windows (service-windows.ts), launchd on macOS (service-darwin.ts);
 * service-select.ts chooses one at start-up, and handles `--install-service` /
 * `--uninstall-service` (tandemd registers itself: it knows its own runtime and script).
 */
import type { ServiceNotifier } from './sd-notify.js';

/** The agent's side of its service manager. */
export interface ServiceHost extends ServiceNotifier {
  /** Which manager runs the agent. */
  readonly manager: 'systemd' | 'scm' | 'launchd' | 'none';
  /**
   * `listener` runs when the manager asks for a stop that is not a signal (the SCM's STOP and
   * SHUTDOWN controls); systemd and launchd send SIGTERM, which main.ts handles.
   */
  onStopRequest(listener: (reason: string) => void): void;
  /** The agent has stopped with `exitCode`: the last report (the SCM's SERVICE_STOPPED). */
  stopped(exitCode: number): Promise<void>;
}

/** A host for a manager that only signals: every report is a no-op or goes to `notifier`. */
export function signalOnlyHost(manager: ServiceHost['manager'], notifier: ServiceNotifier): ServiceHost {
  return {
    manager,
    get active() {
      return notifier.active;
    },
    ready: (text) => notifier.ready(text),
    status: (text) => notifier.status(text),
    stopping: (text) => notifier.stopping(text),
    onStopRequest: () => undefined,
    stopped: () => Promise.resolve(),
  };
}

/** What `--install-service` needs to register the agent as it runs now. */
export interface InstallRequest {
  platform?: string;
  /** The Node runtime running the agent (absolute). */
  execPath: string;
  /** The agent's script (absolute). */
  script: string;
  /** Options the service passes to the agent (the command line without the install flag). */
  args: string[];
}
