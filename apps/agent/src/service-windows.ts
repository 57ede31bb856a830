/**
 * tandemd as a Windows service (`tandemd --service`, the command line the installer registers):
 * the {@link ServiceHost} that reports to the service control manager. The agent's own start is
 * unchanged — the SCM starts the process at boot (SERVICE_AUTO_START) and the agent brings the
 * machine tunnel up exactly as under systemd.
 *
 *   start:  dispatcher → ServiceMain → RegisterServiceCtrlHandlerExW → START_PENDING
 *   ready:  RUNNING, accepting STOP and SHUTDOWN (READY=1 under systemd)
 *   STOP / SHUTDOWN control: STOP_PENDING, then the agent's normal stop (SIGTERM under systemd)
 *   stopped: STOPPED with the exit code; the dispatcher returns and the process exits
 *
 * While a state is pending, every status line bumps the checkpoint, so the SCM sees progress.
 * The threads involved, and why none of them can deadlock the JS thread: advapi32-api-windows.ts.
 */
import { ErrorCodes, TandemError, type Logger } from '@tandem/common';
import { DISPATCHER_FAILED, type ScHandle, type ScmApi, type ServiceStatus } from './advapi32-api-windows.js';
import type { ServiceHost } from './service-host.js';

/** The service's name in the SCM database. */
export const SERVICE_NAME = 'tandemd';

/** SERVICE_* states. */
export const ServiceState = { STOPPED: 1, START_PENDING: 2, STOP_PENDING: 3, RUNNING: 4 } as const;
/** SERVICE_CONTROL_* codes the host knows. */
export const ServiceControl = { STOP: 1, INTERROGATE: 4, SHUTDOWN: 5 } as const;
/** SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN. */
export const ACCEPT_STOP_SHUTDOWN = 0x1 | 0x4;
export const NO_ERROR = 0;
export const ERROR_CALL_NOT_IMPLEMENTED = 120;
/** The Win32 exit code that says "see the service-specific code". */
export const ERROR_SERVICE_SPECIFIC_ERROR = 1066;
/** How long the SCM should wait between reports while starting or stopping (the agent's own bounds are lower). */
export const START_WAIT_HINT_MS = 90_000;
export const STOP_WAIT_HINT_MS = 30_000;
/** Longest wait for the dispatcher to return after STOPPED. */
const DISPATCHER_EXIT_MS = 5_000;

/**
 * Connects to the SCM and reports START_PENDING. Rejects (typed) when the process was not started
 * by the SCM or the handler cannot be registered.
 */
export async function startScmHost(api: ScmApi, log: Logger): Promise<ServiceHost> {
  let handle: ScHandle | null = null;
  let state: number = ServiceState.START_PENDING;
  let checkPoint = 0;
  const stopListeners: Array<(reason: string) => void> = [];
  let stopRequested = false;

  const report = (next: number, extra: Partial<ServiceStatus> = {}): void => {
    if (handle === null) return;
    const pending = next === ServiceState.START_PENDING || next === ServiceState.STOP_PENDING;
    checkPoint = pending ? (next === state ? checkPoint + 1 : 1) : 0;
    state = next;
    const status: ServiceStatus = {
      state: next,
      controlsAccepted: next === ServiceState.RUNNING ? ACCEPT_STOP_SHUTDOWN : 0,
      win32ExitCode: NO_ERROR,
      serviceSpecificExitCode: 0,
      checkPoint,
      waitHint: next === ServiceState.START_PENDING ? START_WAIT_HINT_MS : pending ? STOP_WAIT_HINT_MS : 0,
      ...extra,
    };
    const rc = api.setStatus(handle, status);
    if (rc !== 0) log.warn(`SetServiceStatus failed: Win32 error ${rc}`, { state: next, win32Error: rc });
  };

  const onControl = (control: number): number => {
    if (control === ServiceControl.INTERROGATE) return NO_ERROR;
    if (control !== ServiceControl.STOP && control !== ServiceControl.SHUTDOWN) return ERROR_CALL_NOT_IMPLEMENTED;
    if (stopRequested) return NO_ERROR;
    stopRequested = true;
    report(ServiceState.STOP_PENDING);
    const reason = control === ServiceControl.STOP ? 'service stop' : 'system shutdown';
    // The SCM's thread waits for this answer: the stop itself runs after it.
    setImmediate(() => {
      for (const listener of stopListeners) listener(reason);
    });
    return NO_ERROR;
  };

  let dispatcher: Promise<number> = Promise.resolve(0);
  const started = new Promise<void>((resolve, reject) => {
    const serviceMain = (): void => {
      const registered = api.registerHandler(SERVICE_NAME, (control) => onControl(control));
      if (!registered.ok) {
        reject(
          new TandemError(
            ErrorCodes.INTERNAL,
            `RegisterServiceCtrlHandlerExW failed: Win32 error ${registered.error}`,
            {
              details: { call: 'RegisterServiceCtrlHandlerExW', win32Error: registered.error },
            },
          ),
        );
        return;
      }
      handle = registered.value;
      report(ServiceState.START_PENDING);
      resolve();
    };
    dispatcher = api.runDispatcher(SERVICE_NAME, serviceMain);
    void dispatcher.then((rc) => {
      if (handle !== null) return;
      const notScm = rc === DISPATCHER_FAILED;
      reject(
        new TandemError(
          notScm ? ErrorCodes.USAGE : ErrorCodes.INTERNAL,
          notScm
            ? 'StartServiceCtrlDispatcherW failed: tandemd --service runs only when the service control manager starts it (sc start tandemd); run tandemd without --service in a console'
            : `StartServiceCtrlDispatcherW failed (${rc})`,
          { details: { call: 'StartServiceCtrlDispatcherW' } },
        ),
      );
    });
  });
  await started;
  log.info('connected to the service control manager', { service: SERVICE_NAME });

  return {
    manager: 'scm',
    active: true,
    ready(text) {
      if (state === ServiceState.START_PENDING) report(ServiceState.RUNNING);
      log.info('service running', { status: text });
    },
    status(text) {
      if (state === ServiceState.START_PENDING || state === ServiceState.STOP_PENDING) report(state);
      log.debug('service status', { status: text });
    },
    stopping(text) {
      if (state !== ServiceState.STOP_PENDING && state !== ServiceState.STOPPED) report(ServiceState.STOP_PENDING);
      log.info('service stopping', { status: text });
    },
    onStopRequest(listener) {
      stopListeners.push(listener);
    },
    async stopped(exitCode) {
      if (state === ServiceState.STOPPED) return;
      report(ServiceState.STOPPED, {
        win32ExitCode: exitCode === 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR,
        serviceSpecificExitCode: exitCode,
      });
      // After STOPPED the dispatcher returns; the process may be ended any time from here.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        dispatcher,
        new Promise((resolve) => {
          timer = setTimeout(resolve, DISPATCHER_EXIT_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
